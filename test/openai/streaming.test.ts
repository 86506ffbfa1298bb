import OpenAI from 'openai';
import { fixture } from '../support/fake-openai';
import { gate, within } from '../support/gate';
import { startHarness, type Harness } from '../support/harness';
import { calcPrice } from '@pydantic/genai-prices';
import { usdToNanos } from '../../lambda/pricing/money';

const STREAM_REQUEST = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'Hi' }], stream: true as const };
const FULL_STREAM_NANOS = usdToNanos(
  calcPrice({ input_tokens: 1117, cache_read_tokens: 1024, output_tokens: 9 }, 'gpt-4o-2024-08-06', { providerId: 'openai' })?.total_price ?? NaN,
);

describe('streams through the gateway', () => {
  let harness: Harness;
  let key: string;

  beforeEach(async () => {
    harness = await startHarness();
    key = (await harness.issue()).key;
  });
  afterEach(async () => {
    await harness.close();
  });

  function post(signal?: AbortSignal): Promise<Response> {
    return fetch(`${harness.gateway.url}/proxy/openai/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(STREAM_REQUEST),
      ...(signal && { signal }),
    });
  }

  it('delivers the first chunk while the upstream still holds back the rest', async () => {
    // GIVEN an upstream that sends one chunk, then nothing until the test lets it go on
    const rest = gate();
    harness.upstream.behaviour.holdAfterFirstChunk = rest.promise;

    // WHEN the client reads the stream
    const response = await post();
    const reader = response.body!.getReader();

    // THEN the first chunk arrives while the rest is held: a buffering gateway could never deliver it
    const first = await within(reader.read(), 5_000, 'the first chunk did not arrive while the upstream held the rest');
    expect(Buffer.from(first.value!).toString('utf8')).toMatch(/^data: \{"id":"chatcmpl-/);
    rest.open();
    const chunks = [Buffer.from(first.value!)];
    for (let next = await reader.read(); !next.done; next = await reader.read()) chunks.push(Buffer.from(next.value));
    expect(Buffer.concat(chunks).equals(fixture('chat-stream.sse'))).toBe(true);
  });

  it('settles the full cost when the client leaves mid-stream', async () => {
    // GIVEN a stream whose usage only comes after a pause
    harness.upstream.behaviour.pauseAfterFirstChunkMs = 300;
    const abort = new AbortController();

    // WHEN the client leaves after the first chunk
    const response = await post(abort.signal);
    await response.body!.getReader().read();
    abort.abort();

    // THEN the gateway reads the upstream to its end and records what it cost
    const counters = await harness.waitForSpend((c) => c.length === 12);
    expect(counters.every((c) => c.nanos === FULL_STREAM_NANOS && c.requests === 1)).toBe(true);
  });

  it('ends the client’s stream with an error event when the upstream breaks, and still records the request', async () => {
    // GIVEN an upstream that dies after two events
    harness.upstream.behaviour.cutStreamAfterChunks = 2;
    const client = new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/openai`, maxRetries: 0 });

    // WHEN the SDK reads the stream
    const stream = await client.chat.completions.create(STREAM_REQUEST);
    const chunks: unknown[] = [];
    const failure = await (async () => {
      for await (const chunk of stream) chunks.push(chunk);
    })().catch((e: unknown) => e);

    // THEN the SDK raises the gateway's error event, not a normal end, and, its usage never having
    // come, the request is charged its reservation: the upper bound for its body and the default output cap
    const bodyBytes = Buffer.byteLength(JSON.stringify(STREAM_REQUEST));
    const estimate = Math.ceil((calcPrice({ input_tokens: bodyBytes, output_tokens: 4096 }, 'gpt-4o', { providerId: 'openai' })?.total_price ?? NaN) * 1e9);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as InstanceType<typeof OpenAI.APIError>).message).toMatch(/broke off the stream/);
    expect(chunks).toHaveLength(2);
    const counters = await harness.waitForSpend((c) => c.length === 12);
    expect(counters.every((c) => c.requests === 1 && c.nanos === estimate && c.reservedNanos === 0)).toBe(true);
  });
});
