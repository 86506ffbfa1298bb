import type { ServerResponse } from 'node:http';
import OpenAI from 'openai';
import { gate, within } from '../support/gate';
import { startHarness, type Harness } from '../support/harness';
import { recordingLogger } from '../support/recording-logger';

/** The gateway's time for one whole response, injected small: the default is 15 minutes. */
const TOTAL_TIMEOUT_MS = 600;
/** Far below the idle timeout (300 s): only the overall bound can stop this upstream. */
const DRIP_EVERY_MS = 50;

const CHUNK = (content: string) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-drip', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-2024-08-06', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;

describe('an upstream that never finishes its response (local server)', () => {
  let harness: Harness;
  let logger: ReturnType<typeof recordingLogger>;
  let client: OpenAI;

  beforeEach(async () => {
    logger = recordingLogger();
    harness = await startHarness({ logger, config: (baseUrl) => ({ providers: { openai: { baseUrl } }, upstream: { totalTimeoutMs: TOTAL_TIMEOUT_MS } }) });
    const { key } = await harness.issue();
    client = new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/openai`, maxRetries: 0 });
  });
  afterEach(async () => {
    await harness.close();
  });

  it('ends a dripping stream at the overall limit with the API’s own error, settles it at its reservation, and lets the upstream go', async () => {
    // GIVEN an upstream that sends a chunk every 50 ms, forever, until its connection is closed
    const upstreamClosed = gate();
    let dripped = 0;
    harness.upstream.behaviour.raw = (res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const timer = setInterval(() => res.write(CHUNK(String(dripped++))), DRIP_EVERY_MS);
      res.on('close', () => {
        clearInterval(timer);
        upstreamClosed.open();
      });
    };

    // WHEN a client streams from it
    const stream = await client.chat.completions.create({ model: 'gpt-4o', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'Hi' }] });
    const received: string[] = [];
    const failure = await (async () => {
      for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? '');
    })().catch((error: unknown) => error);

    // THEN the stream carried what arrived, then ended with OpenAI's error event, which the SDK raises
    expect(received.length).toBeGreaterThan(0);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect(String((failure as Error).message)).toMatch(/took longer than the gateway allows one response/);
    // AND the gateway closed its connection to the upstream, rather than reading it forever
    await within(upstreamClosed.promise, 10_000, 'the gateway never let go of the dripping upstream');
    // AND the request was settled at its reservation (its usage never came), and nothing is held
    await harness.waitForSpend((c) => c.some((x) => x.scope.kind === 'key' && x.period === 'lifetime' && x.requests === 1));
    const settled = logger.lines.find((line) => line.event === 'request_settled')!;
    expect(settled.fields).toMatchObject({ outcome: 'upstream-failed', basis: 'usage-missing' });
    expect(settled.fields['nanos']).toBe(settled.fields['estimate_nanos']);
    const lifetime = (await harness.store.getSpend()).find((x) => x.scope.kind === 'key' && x.period === 'lifetime')!;
    expect(lifetime).toMatchObject({ nanos: settled.fields['nanos'], reservedNanos: 0 });
    // AND the cut is logged as the deadline's
    expect(logger.lines.find((line) => line.event === 'upstream_deadline')?.fields).toMatchObject({ total_timeout_ms: TOTAL_TIMEOUT_MS });
  });

  it('answers 504, naming the gateway’s limit, when a document’s body is still arriving at the overall limit', async () => {
    // GIVEN an upstream that sends a JSON document's headers, then drips its body, never finishing it
    harness.upstream.behaviour.raw = (res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => res.write(' '), DRIP_EVERY_MS);
      res.on('close', () => clearInterval(timer));
    };

    // WHEN a client asks for a (non-streaming) completion
    const error = await client.chat.completions.create({ model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] }).catch((e: unknown) => e);

    // THEN it is told the gateway's limit ran out (504), not that the provider broke off (502)
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(504);
    expect((error as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ code: 'upstream_timeout' });
    expect(String((error as Error).message)).toMatch(/took longer than the gateway allows one response/);
    await harness.waitForSpend((c) => c.some((x) => x.scope.kind === 'key' && x.period === 'lifetime' && x.requests === 1 && x.reservedNanos === 0));
  });

  it('answers 504 when the upstream has not even answered by the overall limit', async () => {
    // GIVEN an upstream that takes the request and says nothing (the first-byte timeout is 600 s)
    harness.upstream.behaviour.raw = () => {};

    // WHEN
    const error = await client.chat.completions.create({ model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] }).catch((e: unknown) => e);

    // THEN
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(504);
    expect((error as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ code: 'upstream_timeout' });
    await harness.waitForSpend((c) => c.some((x) => x.scope.kind === 'key' && x.period === 'lifetime' && x.requests === 1 && x.reservedNanos === 0));
    expect(logger.lines.find((line) => line.event === 'request_settled')?.fields).toMatchObject({ basis: 'no-response' });
  });
});
