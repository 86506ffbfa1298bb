import { formatUsd } from '../../lambda/pricing/money';
import { within } from '../support/gate';
import { FORMAT_CALLS, sendCall } from '../support/format-calls';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver';
import { startTracedGateway, type TracedGateway } from '../support/traced-gateway';

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const TRACESTATE = 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7';

describe.each(['http/protobuf', 'http/json'] as const)('spans over OTLP/HTTP (%s)', (protocol) => {
  let receiver: OtlpReceiver;
  let traced: TracedGateway;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    traced = await startTracedGateway({
      tracing: {
        serviceName: 'tollgate-test',
        export: { endpoint: receiver.url, protocol, headers: { Authorization: { env: 'TEST_OTLP_TOKEN' } } },
        queue: { delayMs: 5 },
      },
      env: { TEST_OTLP_TOKEN: 'otlp-write-token-for-tests' },
    });
  });
  afterAll(async () => {
    await traced.close();
    await receiver.close();
  });

  it.each(FORMAT_CALLS.map((call) => [`${call.name}${call.streams ? ', streamed' : ''}`, call] as const))(
    '%s: a request span with the GenAI attributes and the recorded cost, under the caller’s span, and an attempt span under it',
    async (_name, call) => {
      // GIVEN a fresh key, so its lifetime spend is this one call's
      const issued = await traced.issue();
      const before = receiver.spans.length;

      // WHEN
      const response = await sendCall(traced.gateway.url, call, issued.key, {
        traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`,
        tracestate: TRACESTATE,
      });
      const nanos = await traced.lifetimeNanos(issued.record.id);
      await receiver.waitForSpans(before + 2);

      // THEN the response names the gateway's span in the caller's trace
      expect(response.status).toBe(200);
      const traceparent = response.headers.get('traceparent');
      expect(traceparent).toMatch(new RegExp(`^00-${CALLER_TRACE}-[0-9a-f]{16}-01$`));
      const spanId = traceparent!.split('-')[2];
      const mine = receiver.spans.filter((span) => span.traceId === CALLER_TRACE && (span.spanId === spanId || span.parentSpanId === spanId));
      expect(mine).toHaveLength(2);
      const server = mine.find((span) => span.kind === 2)!;
      const client = mine.find((span) => span.kind === 3)!;

      // the request span
      const e = call.expect;
      expect(server).toMatchObject({ spanId, parentSpanId: CALLER_SPAN, traceState: TRACESTATE, name: `${e.genAiOperation} ${e.requestModel}`, status: { code: 0 } });
      expect(server.attributes).toMatchObject({
        'gen_ai.operation.name': e.genAiOperation,
        'gen_ai.provider.name': e.provider,
        'gen_ai.system': e.provider,
        'gen_ai.request.model': e.requestModel,
        'gen_ai.response.model': e.responseModel,
        'gen_ai.response.finish_reasons': e.finishReasons,
        'gen_ai.usage.input_tokens': e.usage.input,
        'gen_ai.usage.output_tokens': e.usage.output,
        ...e.requestParams,
        'tollgate.route': e.route,
        'tollgate.operation': e.operation,
        'tollgate.stream': call.streams,
        'tollgate.project': 'acme',
        'tollgate.user': 'ada',
        'tollgate.key.id': issued.record.id,
        'tollgate.account': e.route,
        'tollgate.attempts': 1,
        'tollgate.cost.nanos': nanos,
        'tollgate.cost.usd': nanos / 1e9,
        'tollgate.cost.basis': 'usage',
        'tollgate.outcome': 'complete',
        'http.request.method': 'POST',
        'http.response.status_code': 200,
        'url.path': call.path.split('?')[0],
      });
      expect(nanos).toBeGreaterThan(0);
      expect(server.attributes['gen_ai.response.id']).toBe(e.responseId);
      expect(server.attributes['gen_ai.usage.cache_read.input_tokens']).toBe(e.usage.cacheRead);
      expect(server.attributes['gen_ai.usage.cache_creation.input_tokens']).toBe(e.usage.cacheWrite);
      // The reservation's estimate (prompt caching can make the cost exceed it: the fixtures' cached tokens are not in these bodies).
      expect(server.attributes['tollgate.estimate.nanos']).toEqual(expect.any(Number));
      expect(server.attributes['tollgate.estimate.usd']).toBe((server.attributes['tollgate.estimate.nanos'] as number) / 1e9);
      expect(server.attributes['tollgate.caps.checked']).toEqual([]);
      expect(server.attributes['tollgate.caps.remaining']).toEqual([]);
      // Floats where the conventions say double, whatever the request wrote.
      expect(server.doubles).toEqual(
        new Set(['tollgate.cost.usd', 'tollgate.estimate.usd', ...Object.keys(e.requestParams).filter((k) => /temperature|top_p/.test(k))]),
      );
      if (!call.streams) expect(response.headers.get('x-tollgate-cost-usd')).toBe(formatUsd(nanos));
      expect(server.resource).toMatchObject({ 'service.name': 'tollgate-test', 'telemetry.sdk.language': 'nodejs' });
      expect(server.endNanos).toBeGreaterThan(server.startNanos);

      // the attempt span: the provider was called as its child
      expect(client).toMatchObject({
        parentSpanId: spanId,
        traceState: TRACESTATE,
        name: `${e.genAiOperation} ${e.route}`,
        status: { code: 0 },
        attributes: expect.objectContaining({
          'gen_ai.provider.name': e.provider,
          'gen_ai.request.model': e.requestModel,
          'tollgate.account': e.route,
          'tollgate.attempt': 1,
          'http.response.status_code': 200,
          'server.address': '127.0.0.1',
        }),
      });
      expect(client.startNanos).toBeGreaterThanOrEqual(server.startNanos);
      expect(client.endNanos).toBeLessThanOrEqual(server.endNanos);
      expect(client.attributes['gen_ai.usage.input_tokens']).toBeUndefined();
    },
  );

  it('tells the provider the attempt is its parent, and passes tracestate and baggage on as sent', async () => {
    const issued = await traced.issue();
    const call = FORMAT_CALLS[0]!;
    traced.openai.requests.length = 0;
    const before = receiver.spans.length;
    await sendCall(traced.gateway.url, call, issued.key, {
      traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`,
      tracestate: TRACESTATE,
      baggage: 'userId=alice',
    });
    await receiver.waitForSpans(before + 2);
    const seen = traced.openai.requests[0]!;
    const attempt = receiver.spans.slice(before).find((span) => span.kind === 3)!;
    expect(seen.headers['traceparent']).toBe(`00-${CALLER_TRACE}-${attempt.spanId}-01`);
    expect(seen.headers['tracestate']).toBe(TRACESTATE);
    expect(seen.headers['baggage']).toBe('userId=alice');
  });

  it('starts a trace of its own when the caller sends none, or one it cannot read', async () => {
    const issued = await traced.issue();
    for (const traceparent of [undefined, '00-not-a-trace-01']) {
      const before = receiver.spans.length;
      const response = await sendCall(traced.gateway.url, FORMAT_CALLS[0]!, issued.key, traceparent ? { traceparent } : {});
      await receiver.waitForSpans(before + 2);
      const [, traceId, spanId] = response.headers.get('traceparent')!.split('-');
      const server = receiver.spans.slice(before).find((span) => span.spanId === spanId)!;
      expect(server.traceId).toBe(traceId);
      expect(traceId).not.toBe(CALLER_TRACE);
      expect(server.parentSpanId).toBeUndefined();
      expect(server.traceState).toBeUndefined();
    }
  });

  it('sends the configured headers to the receiver, in the protocol’s content type', () => {
    expect(receiver.requests.length).toBeGreaterThan(0);
    for (const request of receiver.requests) {
      expect(request.headers['authorization']).toBe('otlp-write-token-for-tests');
      expect(request.contentType).toBe(protocol === 'http/json' ? 'application/json' : 'application/x-protobuf');
    }
  });
});

describe('spans of requests that go wrong', () => {
  let receiver: OtlpReceiver;
  let traced: TracedGateway;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    traced = await startTracedGateway({ tracing: { export: { endpoint: receiver.url }, queue: { delayMs: 5 } } });
  });
  afterAll(async () => {
    await traced.close();
    await receiver.close();
  });

  async function spansOf(response: Response | { headers: Headers }, before: number): Promise<ReceivedSpan[]> {
    const spanId = response.headers.get('traceparent')!.split('-')[2];
    await receiver.waitForSpans(before + 1);
    // The attempt, if any, comes in the same batch as its request.
    return receiver.spans.slice(before).filter((span) => span.spanId === spanId || span.parentSpanId === spanId);
  }

  it('a refused key: the error span carries the code and message the client got, and no key id', async () => {
    const before = receiver.spans.length;
    const response = await fetch(`${traced.gateway.url}/proxy/openai/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer tgk_nope_notakey', 'content-type': 'application/json' },
      body: '{"model":"gpt-4o","messages":[]}',
    });
    expect(response.status).toBe(401);
    const [span, ...rest] = await spansOf(response, before);
    expect(rest).toEqual([]);
    expect(span).toMatchObject({ kind: 2, status: { code: 0 }, name: 'POST /proxy/openai' });
    expect(span!.attributes).toMatchObject({ 'http.response.status_code': 401, 'error.type': expect.any(String), 'tollgate.route': 'openai' });
    expect(span!.attributes['tollgate.key.id']).toBeUndefined();
  });

  it('a provider that fails: the attempt and the request are errors, the upstream status on both', async () => {
    const issued = await traced.issue();
    traced.openai.behaviour.error = { status: 503, body: '{"error":{"message":"overloaded","type":"server_error"}}' };
    const before = receiver.spans.length;
    try {
      const response = await sendCall(traced.gateway.url, FORMAT_CALLS[0]!, issued.key);
      expect(response.status).toBe(503);
      const spans = await spansOf(response, before);
      const server = spans.find((span) => span.kind === 2)!;
      const client = spans.find((span) => span.kind === 3)!;
      expect(server).toMatchObject({ status: { code: 2 }, attributes: expect.objectContaining({ 'http.response.status_code': 503, 'tollgate.cost.nanos': 0, 'tollgate.cost.basis': 'upstream-error' }) });
      expect(client).toMatchObject({ status: { code: 2 }, attributes: expect.objectContaining({ 'http.response.status_code': 503, 'error.type': '503' }) });
    } finally {
      traced.openai.behaviour.error = undefined;
    }
  });

  it('a spend cap: the caps checked are on the span, with the refusal', async () => {
    await traced.store.createProject({ name: 'capped', createdAt: new Date().toISOString(), limits: { monthly: 1_000_000 } }); // $0.001, under one request's estimate
    const issued = await traced.issue('capped', 'bob');
    const before = receiver.spans.length;
    const response = await sendCall(traced.gateway.url, FORMAT_CALLS[0]!, issued.key);
    expect(response.status).toBe(402);
    const [span] = await spansOf(response, before);
    expect(span!.attributes).toMatchObject({
      'http.response.status_code': 402,
      'error.type': 'spend_limit_reached',
      'tollgate.error.message': expect.stringContaining('monthly limit $0.001 reached'),
      'tollgate.project': 'capped',
    });
    expect(span!.attributes['tollgate.caps.checked']).toEqual([expect.stringMatching(/^project:capped month:\d{4}-\d{2} ≤ \$0\.001$/)]);
    expect(span!.attributes['tollgate.caps.refused']).toBe((span!.attributes['tollgate.caps.checked'] as string[])[0]);
    expect(span!.status.code).toBe(0);
  });

  it('records nothing for a caller that did not sample its trace, and passes its traceparent on untouched', async () => {
    const issued = await traced.issue();
    traced.openai.requests.length = 0;
    const notSampled = `00-${CALLER_TRACE}-${CALLER_SPAN}-00`;
    const response = await sendCall(traced.gateway.url, FORMAT_CALLS[0]!, issued.key, { traceparent: notSampled });
    // A sampled request after it: once its spans are in, the unsampled one's would have been too.
    const later = await sendCall(traced.gateway.url, FORMAT_CALLS[0]!, issued.key);
    const laterSpan = later.headers.get('traceparent')!.split('-')[2];
    await within(
      (async () => {
        while (!receiver.spans.some((span) => span.spanId === laterSpan)) await new Promise((resolve) => setTimeout(resolve, 5));
      })(),
      10_000,
      'the sampled request never arrived',
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('traceparent')).toBeNull();
    expect(receiver.spans.filter((span) => span.traceId === CALLER_TRACE)).toEqual([]);
    expect(traced.openai.requests[0]?.headers['traceparent']).toBe(notSampled);
  });
});
