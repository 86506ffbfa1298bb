import { startFaultyUpstream, refusedOrigin, type FaultyUpstream } from '../support/faulty-upstream';
import { startHarness, type Harness } from '../support/harness';
import { UPSTREAM_KEY } from '../support/fake-openai';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver';

/** A routing group that fails over: one attempt span per member tried, under one request span. */
describe('spans of a request that fails over', () => {
  let receiver: OtlpReceiver;
  let flaky: FaultyUpstream;
  let harness: Harness;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    flaky = await startFaultyUpstream({ kind: 'status', status: 503, body: '{"error":{"message":"overloaded","type":"server_error"}}' });
    const refused = await refusedOrigin();
    harness = await startHarness({
      config: (openaiBaseUrl) => ({
        providers: {
          openai: { baseUrl: openaiBaseUrl },
          'openai-refused': { kind: 'openai', baseUrl: `${refused}/v1`, credential: { env: 'OPENAI_API_KEY' } },
          'openai-flaky': { kind: 'openai', baseUrl: `${flaky.origin}/v1`, credential: { env: 'OPENAI_API_KEY' } },
        },
        routes: { pool: { members: [{ provider: 'openai-refused', priority: 2 }, { provider: 'openai-flaky', priority: 1 }, { provider: 'openai' }] } },
        routing: { circuitBreakerFailures: 1_000 },
        tracing: { export: { endpoint: receiver.url }, queue: { delayMs: 5 } },
      }),
      env: { OPENAI_API_KEY: UPSTREAM_KEY },
    });
  });
  afterAll(async () => {
    await harness?.close();
    await flaky.close();
    await receiver.close();
  });

  it('records each attempt with its outcome, in order, and the request under the account that answered', async () => {
    const issued = await harness.issue();
    const response = await fetch(`${harness.gateway.url}/proxy/pool/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${issued.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }),
    });
    expect(response.status).toBe(200);
    await receiver.waitForSpans(4);
    const spanId = response.headers.get('traceparent')!.split('-')[2];
    const server = receiver.spans.find((span) => span.spanId === spanId)!;
    const attempts = receiver.spans.filter((span) => span.parentSpanId === spanId).sort((a, b) => Number(a.attributes['tollgate.attempt']) - Number(b.attributes['tollgate.attempt']));

    expect(server.attributes).toMatchObject({ 'tollgate.attempts': 3, 'tollgate.account': 'openai', 'tollgate.route': 'pool', 'http.response.status_code': 200 });
    expect(server.status.code).toBe(0);
    expect(attempts.map((span) => [span.attributes['tollgate.account'], span.status.code, span.attributes['error.type'] ?? null, span.attributes['http.response.status_code'] ?? null])).toEqual([
      ['openai-refused', 2, 'upstream_unreachable', 502],
      ['openai-flaky', 2, '503', 503],
      ['openai', 0, null, 200],
    ]);
    expect(attempts[0]!.attributes['tollgate.reached_provider']).toBe(false);
    // One after the other: each attempt ended before the next began.
    expect(attempts[0]!.endNanos).toBeLessThanOrEqual(attempts[1]!.startNanos);
    expect(attempts[1]!.endNanos).toBeLessThanOrEqual(attempts[2]!.startNanos);
  });
});
