import { calcPrice } from '@pydantic/genai-prices';
import { usdToNanos } from '../../lambda/pricing/money';
import type { SpendCounter } from '../../lambda/store/port';
import { startVertexHarness, type VertexHarness } from '../support/vertex-harness';
import type { Harness } from '../support/harness';
import { recordingLogger } from '../support/recording-logger';
import { limitsHarness, post, storesUnderTest } from './support';

const cents = (n: number) => n * 10_000_000;

async function eventually<T>(find: () => T | undefined, what: string): Promise<T> {
  for (const deadline = Date.now() + 5_000; ; ) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`never found: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Every counter of the key, its user and its project (4 periods each) holds the one request, nothing reserved. */
const settledOnce = (counters: SpendCounter[]) => counters.length === 12 && counters.every((c) => c.requests === 1 && c.reservedNanos === 0);

function gpt4o(usage: { input_tokens: number; cache_read_tokens?: number; output_tokens: number }): number {
  return usdToNanos(calcPrice(usage, 'gpt-4o-2024-08-06', { providerId: 'openai' })!.total_price);
}

/** The recorded chat response, claiming `completionTokens` of output. */
const claimingOutput = (completionTokens: number) => (recorded: string) =>
  recorded.replace('"completion_tokens": 10', `"completion_tokens": ${completionTokens}`);

describe.each(storesUnderTest())('output counts and output caps on the $name store', (backend) => {
  let harness: Harness;
  let logger: ReturnType<typeof recordingLogger>;
  let key: string;

  beforeEach(async () => {
    logger = recordingLogger();
    harness = await limitsHarness(await backend.open(), { logger });
    key = (await harness.issue()).key;
  });
  afterEach(async () => {
    await harness.close();
  });
  afterAll(async () => {
    await backend.close();
  });

  it('reserves n completions: 64 × 1000 tokens cannot start under a $0.10 strict cap', async () => {
    // GIVEN a strict $0.10 monthly cap, and an upstream that would bill all 64 completions
    await harness.store.updateProject('acme', { limits: { monthly: cents(10) } });
    harness.upstream.behaviour.rewrite = claimingOutput(64_000);

    // WHEN a request asks for 64 choices of up to 1000 tokens each ($0.64 of output at gpt-4o's rate)
    const response = await post(harness, key, JSON.stringify({ model: 'gpt-4o', n: 64, max_tokens: 1000, messages: [{ role: 'user', content: 'Hi' }] }));

    // THEN it is refused before anything is forwarded, and nothing is spent
    expect(response.status).toBe(402);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/this request may cost up to \$0\.64/);
    expect(harness.upstream.requests).toHaveLength(0);
    expect((await harness.store.getSpend()).every((counter) => counter.nanos === 0)).toBe(true);
  });

  it('admits n completions that fit, and charges what the upstream reports', async () => {
    await harness.store.updateProject('acme', { limits: { monthly: cents(10) } });
    harness.upstream.behaviour.rewrite = claimingOutput(4_000);

    const response = await post(harness, key, JSON.stringify({ model: 'gpt-4o', n: 4, max_tokens: 1000, messages: [{ role: 'user', content: 'Hi' }] }));
    await response.arrayBuffer();

    expect(response.status).toBe(200);
    const expected = gpt4o({ input_tokens: 2006, cache_read_tokens: 1920, output_tokens: 4_000 });
    const counters = await harness.waitForSpend(settledOnce);
    expect(counters.find((c) => c.scope.kind === 'project' && c.period.startsWith('month:'))?.nanos).toBe(expected);
  });

  it('charges output a request could not have produced at the most it could: 1e9 tokens claimed for max_tokens 1000', async () => {
    // GIVEN an upstream whose usage claims a billion output tokens for a request capped at 1000
    harness.upstream.behaviour.rewrite = claimingOutput(1_000_000_000);

    // WHEN
    const response = await post(harness, key, JSON.stringify({ model: 'gpt-4o', max_tokens: 1000, messages: [{ role: 'user', content: 'Hi' }] }));
    await response.arrayBuffer();

    // THEN the bytes pass as sent, the output is charged at its cap (not $10,000), and the clamp is logged
    expect(response.status).toBe(200);
    const counters = await harness.waitForSpend(settledOnce);
    const charged = counters.find((c) => c.scope.kind === 'key' && c.period === 'lifetime')?.nanos;
    expect(charged).toBe(gpt4o({ input_tokens: 2006, cache_read_tokens: 1920, output_tokens: 1000 }));
    const clamped = logger.lines.find((line) => line.event === 'usage_clamped');
    expect(clamped?.fields).toMatchObject({ reported_output_tokens: 1_000_000_000, output_tokens_bound: 1000 });
  });

  it('does not cut usage to a cap read from a field the operation ignores (max_output_tokens on chat)', async () => {
    // GIVEN an upstream that writes 4000 tokens for a chat request whose only "cap" is a Responses-API field
    harness.upstream.behaviour.rewrite = claimingOutput(4_000);

    const response = await post(harness, key, JSON.stringify({ model: 'gpt-4o', max_output_tokens: 1, messages: [{ role: 'user', content: 'Hi' }] }));
    await response.arrayBuffer();

    // THEN all 4000 are charged: the bound was never one the server was asked to keep
    const counters = await harness.waitForSpend(settledOnce);
    expect(counters.find((c) => c.scope.kind === 'key' && c.period === 'lifetime')?.nanos).toBe(gpt4o({ input_tokens: 2006, cache_read_tokens: 1920, output_tokens: 4_000 }));
    expect(logger.lines.some((line) => line.event === 'usage_clamped')).toBe(false);
  });

  it('prices a response that names a model with no known price as the model the request asked for, not as free', async () => {
    harness.upstream.behaviour.respondAsModel = 'model-nobody-prices';

    const response = await post(harness, key, JSON.stringify({ model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] }));
    await response.arrayBuffer();

    const counters = await harness.waitForSpend(settledOnce);
    const expected = usdToNanos(calcPrice({ input_tokens: 2006, cache_read_tokens: 1920, output_tokens: 10 }, 'gpt-4o', { providerId: 'openai' })!.total_price);
    expect(counters.find((c) => c.scope.kind === 'key' && c.period === 'lifetime')?.nanos).toBe(expected);
    expect(expected).toBeGreaterThan(0);
  });

  it('charges actual usage past the reservation when the request set no output cap, and alerts on it', async () => {
    // GIVEN requests without max_tokens are reserved for 100 output tokens, and the model writes 5000
    await harness.close();
    logger = recordingLogger();
    harness = await limitsHarness(await backend.open(), { logger, limits: { defaultMaxOutputTokens: 100 } });
    key = (await harness.issue()).key;
    harness.upstream.behaviour.rewrite = claimingOutput(5_000);

    // WHEN
    const response = await post(harness, key, JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }));
    await response.arrayBuffer();

    // THEN the real cost is recorded (the provider bills it), and the overshoot is an error event with its size
    const actual = gpt4o({ input_tokens: 2006, cache_read_tokens: 1920, output_tokens: 5_000 });
    const counters = await harness.waitForSpend(settledOnce);
    expect(counters.find((c) => c.scope.kind === 'key' && c.period === 'lifetime')?.nanos).toBe(actual);
    // The counters can be read back a moment before the settlement's own log line is written.
    const settled = await eventually(() => logger.lines.find((line) => line.event === 'request_settled'), 'a request_settled line');
    const overshoot = logger.lines.find((line) => line.event === 'spend_exceeded_reservation');
    const estimate = Number(settled.fields['estimate_nanos']);
    expect(estimate).toBeGreaterThan(0);
    expect(overshoot?.fields['nanos']).toBe(actual);
    expect(overshoot?.fields['over_reservation_nanos']).toBe(actual - estimate);
    expect(settled.fields['over_reservation_nanos']).toBe(actual - estimate);
  });

  it('charges usage that prices past what one request may cost ($10,000) at the reservation, and its counters stay exact and readable', async () => {
    // GIVEN a request with no output cap, and an upstream claiming 400 billion output tokens ($4M at gpt-4o's rate)
    harness.upstream.behaviour.rewrite = claimingOutput(400_000_000_000);
    const body = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] });

    // WHEN it happens three times: $12M would take every counter past the largest exact integer of nano-dollars
    for (let sent = 1; sent <= 3; sent++) {
      const response = await post(harness, key, body);
      await response.arrayBuffer();
      expect(response.status).toBe(200);
      // Not a price: no cost header claims the absurd figure.
      expect(response.headers.get('x-tollgate-cost-usd')).toBeNull();
      await harness.waitForSpend((counters) => counters.length === 12 && counters.every((c) => c.requests === sent && c.reservedNanos === 0));
    }

    // THEN each was charged its reservation, as a response whose usage cannot be read is, and logged
    const settled = await eventually(() => logger.lines.find((line) => line.event === 'request_settled'), 'a request_settled line');
    const estimate = Number(settled.fields['estimate_nanos']);
    expect(settled.fields).toMatchObject({ basis: 'usage-missing', nanos: estimate });
    const counters = await harness.store.getSpend();
    expect(counters.find((c) => c.scope.kind === 'key' && c.period === 'lifetime')?.nanos).toBe(3 * estimate);
    // AND the key is still served: its counters were never made unreadable
    const next = await post(harness, key, CHAT_BODY_WITH_CAP);
    await next.arrayBuffer();
    expect(next.status).toBe(200);
  });
});

const CHAT_BODY_WITH_CAP = JSON.stringify({ model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] });

describe('Gemini candidateCount', () => {
  let vertex: VertexHarness;

  beforeEach(async () => {
    vertex = await startVertexHarness();
  });
  afterEach(async () => {
    await vertex.close();
  });

  it('reserves every candidate: 8 × 1000 tokens cannot start under a cap that fits one', async () => {
    // GIVEN a strict cap of $0.005: one 1000-token gemini-2.5-flash answer fits ($0.0025), eight do not
    await vertex.harness.store.updateProject('acme', { limits: { monthly: 5_000_000 } });
    const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }], generationConfig: { candidateCount: 8, maxOutputTokens: 1000 } });

    // WHEN
    const response = await fetch(`${vertex.harness.gateway.url}/proxy/google-vertex/v1/publishers/google/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': vertex.key, 'content-type': 'application/json' },
      body,
    });

    // THEN refused, nothing forwarded
    expect(response.status).toBe(402);
    expect(vertex.google.requests).toHaveLength(0);
  });
});
