import { parseConfig } from '../../lambda/config/config';
import { ConfigError } from '../../lambda/config/config-error';
import type { SecretSource } from '../../lambda/config/secrets';
import { exportHeaders, ExportHeaderError } from '../../lambda/observability/otel/export-headers';
import { tracingFromEnv } from '../../lambda/observability/otel/settings';

describe('the tracing section', () => {
  it('fills in the defaults and adds /v1/traces to a base URL', () => {
    const config = parseConfig({ tracing: { export: { endpoint: 'https://logfire-eu.pydantic.dev', headers: { Authorization: { env: 'LOGFIRE_TOKEN' } } } } }, 'test');
    expect(config.tracing).toEqual({
      serviceName: 'tollgate',
      export: {
        endpoint: new URL('https://logfire-eu.pydantic.dev/v1/traces'),
        protocol: 'http/protobuf',
        headers: [{ name: 'Authorization', value: { kind: 'env', name: 'LOGFIRE_TOKEN' } }],
        timeoutMs: 10_000,
      },
      projects: {},
      respectParentSampling: true,
      queue: { maxSpans: 2048, batchSize: 512, delayMs: 1000, maxAttempts: 5 },
      flushTimeoutMs: 2000,
    });
    expect(parseConfig({}, 'test').tracing).toBeUndefined();
  });

  it('keeps an endpoint that already names /v1/traces', () => {
    const config = parseConfig({ tracing: { export: { endpoint: 'http://collector:4318/v1/traces' } } }, 'test');
    expect(config.tracing?.export?.endpoint.href).toBe('http://collector:4318/v1/traces');
  });

  it.each([
    [{ export: { endpoint: 'ftp://x' } }, 'test: tracing.export.endpoint: must be an http(s) URL'],
    [{ export: { endpoint: 'http://x', protocol: 'grpc' } }, 'test: tracing.export.protocol:'],
    [{ projects: { acme: { bodies: { maxBytes: 0 } } } }, 'test: tracing.projects.acme.bodies.maxBytes:'],
    [{ export: { endpoint: 'http://x', headers: { 'bad header': 'v' } } }, 'test: tracing.export.headers.bad header:'],
    [{ exporter: {} }, 'test: tracing.exporter: unknown field'],
    [{ export: { endpoint: 'http://x', headers: { Authorization: 5 } } }, 'test: tracing.export.headers.Authorization: must be a string, {"env": "NAME"}, or {"secret": "<id>", "field": "<name>"}'],
    [{ export: { endpoint: 'http://x', headers: { Authorization: { secret: '' } } } }, 'test: tracing.export.headers.Authorization.secret: Too small'],
    [{ export: { endpoint: 'http://x', headers: { Authorization: { secret: 'tollgate/s/logfire', field: '' } } } }, 'test: tracing.export.headers.Authorization.field: Too small'],
    [{ export: { endpoint: 'http://x', headers: { Authorization: { secret: 'tollgate/s/logfire', key: 'token' } } } }, 'test: tracing.export.headers.Authorization.key: unknown field'],
    [{ projects: { acme: { export: { endpoint: 'http://x', headers: { 'X-Token': { secretId: 'a' } } } } } }, 'test: tracing.projects.acme.export.headers.X-Token: must be a string, {"env": "NAME"}, or {"secret"'],
  ])('refuses %j', (tracing, message) => {
    expect(() => parseConfig({ tracing }, 'test')).toThrow(message);
  });

  it('takes a header from a secret, as a whole string or one field of a JSON secret', () => {
    const settings = parseConfig(
      {
        tracing: {
          export: { endpoint: 'http://x', headers: { Authorization: { secret: 'tollgate/s/logfire' } } },
          projects: { acme: { export: { endpoint: 'http://y', headers: { 'X-Token': { secret: 'arn:aws:secretsmanager:us-east-1:1:secret:tollgate/s/acme-AbCdEf', field: 'token' } } } } },
        },
      },
      'test',
    ).tracing!;
    expect(settings.export!.headers).toEqual([{ name: 'Authorization', value: { kind: 'secret', secretId: 'tollgate/s/logfire' } }]);
    expect(settings.projects['acme']!.export!.headers).toEqual([
      { name: 'X-Token', value: { kind: 'secret', secretId: 'arn:aws:secretsmanager:us-east-1:1:secret:tollgate/s/acme-AbCdEf', field: 'token' } },
    ]);
  });
});

describe('export headers', () => {
  const headers = (given: Record<string, unknown>) => parseConfig({ tracing: { export: { endpoint: 'http://x', headers: given } } }, 'test').tracing!.export!.headers;

  it('reads environment variables at start, and names a missing variable, never a value', async () => {
    const given = headers({ Authorization: { env: 'TOKEN' }, 'X-Team': 'ml' });
    await expect(exportHeaders(given, { env: { TOKEN: 'pylf_v1_us_abc' } }, 'tracing.export')()).resolves.toEqual({ authorization: 'pylf_v1_us_abc', 'x-team': 'ml' });
    expect(() => exportHeaders(given, { env: {} }, 'tracing.export')).toThrow('tracing.export.headers.Authorization: environment variable TOKEN is not set');
  });

  it('refuses a secret at start where no secret reader is (the local server), saying it is for AWS', () => {
    const given = headers({ Authorization: { secret: 'tollgate/s/logfire' } });
    const start = () => exportHeaders(given, { env: {} }, 'tracing.export');
    expect(start).toThrow(ConfigError);
    expect(start).toThrow('tracing.export.headers.Authorization: {"secret": …} values are read from AWS Secrets Manager, which only the AWS deployment does');
  });

  it('reads a secret on every call, through the reader, and trims the line end a token file leaves', async () => {
    // GIVEN a reader whose value changes (the cache's TTL is the reader's business)
    const asked: SecretSource[] = [];
    let token = 'pylf_v1_us_first\n';
    const read = async (source: SecretSource) => {
      asked.push(source);
      return token;
    };
    const now = exportHeaders(headers({ Authorization: { secret: 'tollgate/s/logfire', field: 'token' }, 'X-Team': 'ml' }), { env: {}, secrets: read }, 'tracing.export');

    // WHEN the headers are asked for, before and after the value changed
    const first = await now();
    token = 'pylf_v1_us_second';
    const second = await now();

    // THEN each call has the value of its moment, with the fixed headers beside it
    expect(first).toEqual({ authorization: 'pylf_v1_us_first', 'x-team': 'ml' });
    expect(second).toEqual({ authorization: 'pylf_v1_us_second', 'x-team': 'ml' });
    expect(asked).toEqual([
      { secretId: 'tollgate/s/logfire', field: 'token' },
      { secretId: 'tollgate/s/logfire', field: 'token' },
    ]);
  });

  it.each([
    ['the read fails', () => Promise.reject(new Error('could not read secret tollgate/s/logfire (AccessDeniedException: denied)')), 'tracing.export.headers.Authorization from secret tollgate/s/logfire field "token": could not read secret tollgate/s/logfire (AccessDeniedException: denied)'],
    ['the field is absent', () => Promise.resolve(undefined), 'tracing.export.headers.Authorization from secret tollgate/s/logfire field "token": missing or empty'],
    ['the value holds a line break', () => Promise.resolve('pylf_v1_us_abc\r\nX-Evil: 1'), 'tracing.export.headers.Authorization from secret tollgate/s/logfire field "token": not a usable header value'],
  ])('rejects with an ExportHeaderError naming the secret and field, never the value, when %s', async (_, read, message) => {
    const now = exportHeaders(headers({ Authorization: { secret: 'tollgate/s/logfire', field: 'token' } }), { env: {}, secrets: read }, 'tracing.export');
    const error = await now().then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(ExportHeaderError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain('pylf_v1_us_abc');
  });
});

describe('the OTEL_* environment', () => {
  it('sets a deployment destination when the config names none', () => {
    const settings = tracingFromEnv(undefined, {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=pylf%20token,x-scope=a',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'gateway-eu',
    });
    expect(settings?.serviceName).toBe('gateway-eu');
    expect(settings?.export).toEqual({
      endpoint: new URL('http://127.0.0.1:4318/v1/traces'),
      protocol: 'http/json',
      headers: [
        { name: 'Authorization', value: { kind: 'literal', value: 'pylf token' } },
        { name: 'x-scope', value: { kind: 'literal', value: 'a' } },
      ],
      timeoutMs: 10_000,
    });
  });

  it('uses a traces endpoint as given, and leaves a configured destination alone', () => {
    expect(tracingFromEnv(undefined, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/custom' })?.export?.endpoint.href).toBe('http://c:4318/custom');
    const configured = parseConfig({ tracing: { export: { endpoint: 'http://mine' } } }, 'test').tracing;
    expect(tracingFromEnv(configured, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://other' })).toBe(configured);
    expect(tracingFromEnv(undefined, {})).toBeUndefined();
  });

  it('is turned off by OTEL_SDK_DISABLED, and refuses a protocol it does not speak', () => {
    const configured = parseConfig({ tracing: { export: { endpoint: 'http://mine' } } }, 'test').tracing;
    expect(tracingFromEnv(configured, { OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
    expect(() => tracingFromEnv(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow('OTEL_EXPORTER_OTLP_PROTOCOL');
  });
});
