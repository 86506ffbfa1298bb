import { FORMAT_CALLS, sendCall } from '../support/format-calls';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver';
import { scanForSecrets } from '../support/secret-scan';
import { startTracedGateway, type TracedGateway } from '../support/traced-gateway';

const OPENAI_CHAT = FORMAT_CALLS[0]!;

describe('per-project destinations and bodies', () => {
  let deployment: OtlpReceiver;
  let acmeOwn: OtlpReceiver;
  let betaOwn: OtlpReceiver;
  let traced: TracedGateway;

  beforeAll(async () => {
    [deployment, acmeOwn, betaOwn] = await Promise.all([startOtlpReceiver(), startOtlpReceiver(), startOtlpReceiver()]);
    traced = await startTracedGateway({
      tracing: {
        export: { endpoint: deployment.url },
        projects: {
          acme: { export: { endpoint: `${acmeOwn.url}/v1/traces`, headers: { Authorization: { env: 'ACME_LOGFIRE_TOKEN' } } } },
          beta: { export: { endpoint: betaOwn.url, protocol: 'http/json' }, bodies: { maxBytes: 64 } },
        },
        queue: { delayMs: 5 },
      },
      env: { ACME_LOGFIRE_TOKEN: 'pylf_v1_us_acmeTestWriteToken' },
    });
  });
  afterAll(async () => {
    await traced.close();
    await Promise.all([deployment.close(), acmeOwn.close(), betaOwn.close()]);
  });

  it('sends every span to the deployment, and a project’s spans to its own receiver too, with its own token', async () => {
    const acme = await traced.issue('acme');
    const beta = await traced.issue('beta');
    const gamma = await traced.issue('gamma');

    for (const key of [acme, beta, gamma]) await sendCall(traced.gateway.url, OPENAI_CHAT, key.key);
    await deployment.waitForSpans(6);
    await acmeOwn.waitForSpans(2);
    await betaOwn.waitForSpans(2);
    // Everything sent was flushed by now: the later receivers got theirs in the same batches.
    await traced.lifetimeNanos(gamma.record.id);

    const projectsOf = (receiver: OtlpReceiver) => receiver.spans.filter((span) => span.kind === 2).map((span) => span.attributes['tollgate.project']).sort();
    expect(projectsOf(deployment)).toEqual(['acme', 'beta', 'gamma']);
    expect(projectsOf(acmeOwn)).toEqual(['acme']);
    expect(projectsOf(betaOwn)).toEqual(['beta']);
    expect(acmeOwn.spans).toHaveLength(2);
    expect(betaOwn.spans).toHaveLength(2);
    expect(acmeOwn.requests.every((request) => request.headers['authorization'] === 'pylf_v1_us_acmeTestWriteToken')).toBe(true);
    expect(deployment.requests.every((request) => request.headers['authorization'] === undefined)).toBe(true);
    expect(betaOwn.requests.every((request) => request.contentType === 'application/json')).toBe(true);
  });

  it('keeps bodies only for the project that asked, cut at its limit', async () => {
    const acme = await traced.issue('acme');
    const beta = await traced.issue('beta');
    const before = deployment.spans.length;
    const betaBefore = betaOwn.spans.length;
    for (const key of [acme, beta]) await sendCall(traced.gateway.url, OPENAI_CHAT, key.key);
    await deployment.waitForSpans(before + 4);
    await betaOwn.waitForSpans(betaBefore + 2);

    const requestSpan = (project: string) => deployment.spans.slice(before).find((span) => span.kind === 2 && span.attributes['tollgate.project'] === project)!;
    const acmeSpan = requestSpan('acme');
    expect(Object.keys(acmeSpan.attributes).filter((name) => name.includes('body'))).toEqual([]);

    const betaSpan = requestSpan('beta');
    const sent = Buffer.from(JSON.stringify(OPENAI_CHAT.body));
    expect(betaSpan.attributes).toMatchObject({
      'tollgate.request.body': sent.subarray(0, 64).toString('utf8'),
      'tollgate.request.body.size': sent.byteLength,
      'tollgate.request.body.truncated': true,
      'tollgate.response.body.truncated': true,
    });
    expect((betaSpan.attributes['tollgate.response.body'] as string).startsWith('{\n  "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"')).toBe(true);
    expect(Buffer.byteLength(betaSpan.attributes['tollgate.response.body'] as string)).toBeLessThanOrEqual(64);
    // The same span, bodies and all, on the project's own receiver.
    expect(betaOwn.spans.find((span) => span.spanId === betaSpan.spanId)?.attributes['tollgate.request.body']).toBe(betaSpan.attributes['tollgate.request.body']);
  });
});

describe('a gateway with only a project destination', () => {
  it('exports that project’s spans and builds nothing for the others', async () => {
    const own = await startOtlpReceiver();
    const traced = await startTracedGateway({ tracing: { projects: { acme: { export: { endpoint: own.url } } }, queue: { delayMs: 5 } } });
    try {
      const other = await traced.issue('other');
      const acme = await traced.issue('acme');
      await sendCall(traced.gateway.url, OPENAI_CHAT, other.key);
      const response = await sendCall(traced.gateway.url, OPENAI_CHAT, acme.key);
      await own.waitForSpans(2);
      await traced.lifetimeNanos(other.record.id);
      expect(own.spans.map((span) => span.attributes['tollgate.project'] ?? span.attributes['tollgate.account'])).toEqual(['acme', 'openai']);
      expect(response.headers.get('traceparent')).toMatch(/^00-/);
    } finally {
      await traced.close();
      await own.close();
    }
  });
});

describe('secrets in exported spans', () => {
  it('finds none of the planted secrets in any span of any format, bodies on, in either encoding', async () => {
    // GIVEN every provider credential the gateway holds, its key, and secrets a client plants in
    // every header a key can travel in (and a Vertex `key=` query parameter)
    const receivers = await Promise.all([startOtlpReceiver(), startOtlpReceiver()]);
    const traced = await startTracedGateway({
      tracing: {
        export: { endpoint: receivers[0]!.url, headers: { Authorization: { env: 'EXPORT_TOKEN' } } },
        projects: { acme: { export: { endpoint: receivers[1]!.url, protocol: 'http/json' }, bodies: { maxBytes: 1 << 20 } } },
        queue: { delayMs: 5 },
      },
      env: { EXPORT_TOKEN: 'export-token-PLANTED-9f8e7d6c5b4a' },
    });
    try {
      const issued = await traced.issue('acme');
      const planted = {
        xApiKey: 'sk-ant-PLANTED-x-api-key-0123456789',
        goog: 'AIzaPLANTED-goog-api-key-0123456789',
        azure: 'azure-PLANTED-api-key-0123456789abcd',
        cookie: 'session-PLANTED-cookie-0123456789ab',
        queryKey: 'query-PLANTED-key-param-0123456789',
      };

      // WHEN every call goes through, streamed and not, carrying them
      for (const call of FORMAT_CALLS) {
        const path = call.expect.route === 'google-vertex' ? `${call.path}${call.path.includes('?') ? '&' : '?'}key=${planted.queryKey}` : call.path;
        const response = await sendCall(traced.gateway.url, { ...call, path }, issued.key, {
          'x-api-key': planted.xApiKey,
          'x-goog-api-key': planted.goog,
          'api-key': planted.azure,
          cookie: `sid=${planted.cookie}`,
          'proxy-authorization': `Bearer ${issued.key}`,
        });
        expect(response.status).toBe(200);
      }
      await traced.lifetimeNanos(issued.record.id);
      await receivers[0]!.waitForSpans(FORMAT_CALLS.length * 2);
      await receivers[1]!.waitForSpans(FORMAT_CALLS.length * 2);

      // THEN the scan of every export request, as sent, finds nothing
      const exported = receivers.flatMap((receiver) => receiver.requests.map((request) => request.raw));
      expect(exported.length).toBeGreaterThan(0);
      // The scan finds what it looks for: the bodies (kept for this project) carry the model name.
      expect(scanForSecrets(exported, { canary: 'claude-sonnet-4-20250514' })).toEqual(['canary']);
      expect(scanForSecrets(exported, { gatewayKey: issued.key, ...traced.secrets, ...planted, exportToken: 'export-token-PLANTED-9f8e7d6c5b4a' })).toEqual([]);
    } finally {
      await traced.close();
      await Promise.all(receivers.map((receiver) => receiver.close()));
    }
  });
});
