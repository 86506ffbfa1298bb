import { parseConfig } from '../../lambda/config/config';
import { resolveHeaders, tracingFromEnv } from '../../lambda/observability/otel/settings';

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
  ])('refuses %j', (tracing, message) => {
    expect(() => parseConfig({ tracing }, 'test')).toThrow(message);
  });

  it('reads header values from the environment, and names a missing variable, never a value', () => {
    const settings = parseConfig({ tracing: { export: { endpoint: 'http://x', headers: { Authorization: { env: 'TOKEN' }, 'X-Team': 'ml' } } } }, 'test').tracing!;
    expect(resolveHeaders(settings.export!.headers, { TOKEN: 'pylf_v1_us_abc' }, 'tracing.export')).toEqual({ authorization: 'pylf_v1_us_abc', 'x-team': 'ml' });
    expect(() => resolveHeaders(settings.export!.headers, {}, 'tracing.export')).toThrow('tracing.export.headers.Authorization: environment variable TOKEN is not set');
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
