import { calcPrice, type Usage } from '@pydantic/genai-prices';
import Groq from 'groq-sdk';
import { formatUsd, usdToNanos } from '../../lambda/pricing/money';
import type { SpendCounter } from '../../lambda/store/port';
import { GROQ_UPSTREAM_KEY, groqFixture, startGroqGateway, type GroqGateway } from '../support/fake-groq';

function expectedNanos(usage: Usage, model: string): number {
  const price = calcPrice(usage, model, { providerId: 'groq' });
  if (!price) throw new Error(`no price for ${model}`);
  return usdToNanos(price.total_price);
}

const LLAMA = 'llama-3.3-70b-versatile';
const GPT_OSS = 'openai/gpt-oss-120b';
// Worked out by hand from the recordings; `input_tokens` is the whole prompt, cached part included.
const CHAT_NANOS = expectedNanos({ input_tokens: 48, output_tokens: 17 }, LLAMA);
const CACHED_CHAT_NANOS = expectedNanos({ input_tokens: 1843, cache_read_tokens: 1536, output_tokens: 61 }, GPT_OSS);
const STREAM_NANOS = expectedNanos({ input_tokens: 38, output_tokens: 9 }, LLAMA);
const USAGE_STREAM_NANOS = expectedNanos({ input_tokens: 2210, cache_read_tokens: 2048, output_tokens: 23 }, GPT_OSS);

const MESSAGES = [{ role: 'user' as const, content: 'Explain the importance of fast language models' }];

function expectSpendEverywhere(counters: SpendCounter[], keyId: string, nanos: number, requests = 1): void {
  for (const scope of [`key:${keyId}`, 'project:acme', 'user:ada']) {
    const mine = counters.filter((c) => `${c.scope.kind}:${c.scope.id}` === scope);
    expect(mine.map((c) => c.period.split(':')[0]).sort()).toEqual(['day', 'lifetime', 'month', 'week']);
    for (const counter of mine) expect(counter).toMatchObject({ nanos, requests });
  }
}

describe('Groq through the gateway, with groq-sdk', () => {
  let gateway: GroqGateway;
  let key: string;
  let keyId: string;
  let groq: Groq;

  beforeEach(async () => {
    gateway = await startGroqGateway();
    const issued = await gateway.harness.issue();
    key = issued.key;
    keyId = issued.record.id;
    groq = new Groq({ apiKey: key, baseURL: `${gateway.harness.gateway.url}/proxy/groq` });
  });
  afterEach(async () => {
    await gateway.close();
  });

  function expectUpstreamSawProviderKeyOnly(): void {
    expect(gateway.upstream.requests.length).toBeGreaterThan(0);
    for (const seen of gateway.upstream.requests) {
      expect(seen.headers.authorization).toBe(`Bearer ${GROQ_UPSTREAM_KEY}`);
      expect(JSON.stringify(seen.headers)).not.toContain(key);
      expect(seen.body.toString('utf8')).not.toContain(key);
    }
  }

  it.each([
    [LLAMA, LLAMA, 'chat.json', CHAT_NANOS],
    [`${GPT_OSS}, with cached prompt tokens`, GPT_OSS, 'chat-cached.json', CACHED_CHAT_NANOS],
  ])('returns the upstream bytes of a %s completion unchanged and records the exact cost', async (_label, model, recording, nanos) => {
    // WHEN
    const response = await groq.chat.completions.create({ model, messages: MESSAGES }).asResponse();
    const body = Buffer.from(await response.arrayBuffer());

    // THEN
    expect(body.equals(groqFixture(recording))).toBe(true);
    expect(response.headers.get('x-tollgate-cost-usd')).toBe(formatUsd(nanos));
    expect(gateway.upstream.requests[0]?.url).toBe('/openai/v1/chat/completions');
    expectUpstreamSawProviderKeyOnly();
    expectSpendEverywhere(await gateway.harness.waitForSpend((c) => c.length === 12), keyId, nanos);
  });

  it('prices cached prompt tokens at the cache rate', () => {
    // By hand: (1843 − 1536)×$0.15 + 1536×$0.075 + 61×$0.60 per million tokens.
    expect(CACHED_CHAT_NANOS).toBe(197_850);
  });

  it('streams the upstream bytes unchanged, leaves the body as sent, and meters x_groq.usage', async () => {
    const response = await groq.chat.completions.create({ model: LLAMA, messages: MESSAGES, stream: true }).asResponse();
    const body = Buffer.from(await response.arrayBuffer());

    expect(body.equals(groqFixture('chat-stream.sse'))).toBe(true);
    // Groq reports stream usage unasked: nothing is added to the request.
    expect(gateway.upstream.requests[0]?.body.toString('utf8')).toBe(JSON.stringify({ model: LLAMA, messages: MESSAGES, stream: true }));
    expectUpstreamSawProviderKeyOnly();
    expectSpendEverywhere(await gateway.harness.waitForSpend((c) => c.length === 12), keyId, STREAM_NANOS);
  });

  it('meters the top-level usage block a client asks for with stream_options.include_usage', async () => {
    // groq-sdk's types lack stream_options; a client passes it through as an extra body field.
    const params = { model: GPT_OSS, messages: MESSAGES, stream: true as const, stream_options: { include_usage: true } };

    const response = await groq.chat.completions.create(params).asResponse();
    const body = Buffer.from(await response.arrayBuffer());

    expect(body.equals(groqFixture('chat-stream-usage.sse'))).toBe(true);
    expect(gateway.upstream.requests[0]?.body.toString('utf8')).toBe(JSON.stringify(params));
    expectSpendEverywhere(await gateway.harness.waitForSpend((c) => c.length === 12), keyId, USAGE_STREAM_NANOS);
  });

  it('hands the SDK a stream it parses chunk by chunk, usage chunk included', async () => {
    const stream = await groq.chat.completions.create({ model: LLAMA, messages: MESSAGES, stream: true });
    let text = '';
    let promptTokens: number | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      promptTokens = chunk.x_groq?.usage?.prompt_tokens ?? promptTokens;
    }

    expect(text).toBe('Grüß Gott — fast! ⚡');
    expect(promptTokens).toBe(38);
    expectSpendEverywhere(await gateway.harness.waitForSpend((c) => c.length === 12), keyId, STREAM_NANOS);
  });

  it('passes the model list through without recording spend', async () => {
    const models = await groq.models.list();

    expect(models.data.map((m) => m.id)).toEqual([LLAMA]);
    expect(gateway.upstream.requests[0]?.url).toBe('/openai/v1/models');
    expectUpstreamSawProviderKeyOnly();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await gateway.harness.store.getSpend()).toEqual([]);
  });
});
