import { calcPrice, type Usage } from '@pydantic/genai-prices';
import OpenAI from 'openai';
import { usdToNanos } from '../../lambda/pricing/money';
import type { SpendCounter } from '../../lambda/store/port';
import { fixture, UPSTREAM_KEY } from '../support/fake-openai';
import { startHarness, type Harness } from '../support/harness';

function expectedNanos(usage: Usage, model: string): number {
  const price = calcPrice(usage, model, { providerId: 'openai' });
  if (!price) throw new Error(`no price for ${model}`);
  return usdToNanos(price.total_price);
}

/** Every scope (key, project, user) × every period (day, week, month, lifetime) moved by exactly this. */
function expectSpendEverywhere(counters: SpendCounter[], keyId: string, nanos: number, requests = 1): void {
  const scopes = ['key:' + keyId, 'project:acme', 'user:ada'];
  for (const scope of scopes) {
    const mine = counters.filter((c) => `${c.scope.kind}:${c.scope.id}` === scope);
    expect(mine.map((c) => c.period.split(':')[0]).sort()).toEqual(['day', 'lifetime', 'month', 'week']);
    for (const counter of mine) expect(counter).toMatchObject({ nanos, requests });
  }
}

const CHAT_NANOS = expectedNanos({ input_tokens: 2006, cache_read_tokens: 1920, output_tokens: 10 }, 'gpt-4o-2024-08-06');
const CHAT_STREAM_NANOS = expectedNanos({ input_tokens: 1117, cache_read_tokens: 1024, output_tokens: 9 }, 'gpt-4o-2024-08-06');
const RESPONSES_NANOS = expectedNanos({ input_tokens: 36, output_tokens: 87 }, 'gpt-4.1-2025-04-14');
const RESPONSES_STREAM_NANOS = expectedNanos({ input_tokens: 37, output_tokens: 11 }, 'gpt-4.1-2025-04-14');
const EMBEDDING_NANOS = expectedNanos({ input_tokens: 8 }, 'text-embedding-3-small');

describe('OpenAI through the gateway, with the official SDK', () => {
  let harness: Harness;
  let key: string;
  let keyId: string;

  // Each test gets a fresh gateway and store, so spend from one cannot satisfy another's assertions.
  beforeEach(async () => {
    harness = await startHarness();
    const issued = await harness.issue();
    key = issued.key;
    keyId = issued.record.id;
  });
  afterEach(async () => {
    await harness.close();
  });

  function fresh(route = 'openai'): OpenAI {
    return new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/${route}` });
  }

  function expectUpstreamSawProviderKeyOnly(): void {
    expect(harness.upstream.requests.length).toBeGreaterThan(0);
    for (const seen of harness.upstream.requests) {
      expect(seen.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
      expect(JSON.stringify(seen.headers)).not.toContain(key);
      expect(seen.body.toString('utf8')).not.toContain(key);
    }
  }

  describe.each(['openai', 'chat'])('chat completions on route %s', (route) => {
    it('returns the upstream bytes unchanged and records the exact cost', async () => {
      // GIVEN
      const client = fresh(route);

      // WHEN
      const response = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }).asResponse();
      const body = Buffer.from(await response.arrayBuffer());

      // THEN
      expect(body.equals(fixture('chat.json'))).toBe(true);
      expect(response.headers.get('x-request-id')).toBe('req_fake123');
      const usd = `0.${String(CHAT_NANOS).padStart(9, '0').replace(/0+$/, '')}`;
      expect(response.headers.get('x-tollgate-cost-usd')).toBe(usd);
      expect(response.headers.get('pydantic-ai-gateway-price-estimate')).toBe(`${usd}USD`);
      expectUpstreamSawProviderKeyOnly();
      expect(harness.upstream.requests[0]?.url).toBe('/v1/chat/completions');
      expectSpendEverywhere(await harness.waitForSpend((c) => c.length === 12), keyId, CHAT_NANOS);
    });

    it('streams the upstream bytes unchanged, asks for usage, and meters the stream', async () => {
      // GIVEN
      const client = fresh(route);

      // WHEN
      const response = await client.chat.completions
        .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }], stream: true })
        .asResponse();
      const body = Buffer.from(await response.arrayBuffer());

      // THEN
      expect(body.equals(fixture('chat-stream.sse'))).toBe(true);
      const sent = JSON.parse(harness.upstream.requests[0]?.body.toString('utf8') ?? '{}');
      expect(sent).toEqual({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }], stream: true, stream_options: { include_usage: true } });
      expectUpstreamSawProviderKeyOnly();
      expectSpendEverywhere(await harness.waitForSpend((c) => c.length === 12), keyId, CHAT_STREAM_NANOS);
    });
  });

  it('hands the SDK a stream it parses, chunk by chunk, including the usage chunk', async () => {
    const client = fresh();

    const stream = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage ?? usage;
    }

    expect(text).toBe('Hello! How can I help — today? 👋');
    expect(usage?.prompt_tokens).toBe(1117);
    // The client asked for usage itself, so the body is forwarded as sent.
    expect(harness.upstream.requests[0]?.body.toString('utf8')).toBe(
      JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }], stream: true, stream_options: { include_usage: true } }),
    );
    expectSpendEverywhere(await harness.waitForSpend((c) => c.length === 12), keyId, CHAT_STREAM_NANOS);
  });

  describe.each(['openai', 'responses'])('responses on route %s', (route) => {
    it('returns the upstream bytes unchanged and records the exact cost', async () => {
      const client = fresh(route);

      const response = await client.responses.create({ model: 'gpt-4.1', input: 'Tell me a story' }).asResponse();
      const body = Buffer.from(await response.arrayBuffer());

      expect(body.equals(fixture('responses.json'))).toBe(true);
      expectUpstreamSawProviderKeyOnly();
      expectSpendEverywhere(await harness.waitForSpend((c) => c.length === 12), keyId, RESPONSES_NANOS);
    });

    it('streams the upstream bytes unchanged and meters the completed event', async () => {
      const client = fresh(route);

      const response = await client.responses.create({ model: 'gpt-4.1', input: 'Hi', stream: true }).asResponse();
      const body = Buffer.from(await response.arrayBuffer());

      expect(body.equals(fixture('responses-stream.sse'))).toBe(true);
      // Responses streams always carry usage: the body is forwarded untouched.
      expect(JSON.parse(harness.upstream.requests[0]?.body.toString('utf8') ?? '{}')).toEqual({ model: 'gpt-4.1', input: 'Hi', stream: true });
      expectSpendEverywhere(await harness.waitForSpend((c) => c.length === 12), keyId, RESPONSES_STREAM_NANOS);
    });
  });

  it('parses a streamed response through the SDK', async () => {
    const client = fresh();

    const stream = await client.responses.create({ model: 'gpt-4.1', input: 'Hi', stream: true });
    const deltas: string[] = [];
    for await (const event of stream) if (event.type === 'response.output_text.delta') deltas.push(event.delta);

    expect(deltas.join('')).toBe('Hi there!');
  });

  it('forwards embeddings and records their sub-micro-dollar cost exactly', async () => {
    const client = fresh();

    const result = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'The food was delicious' });
    const response = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'The food was delicious' }).asResponse();

    expect(result.data[0]?.embedding).toHaveLength(3);
    expect(result.data[0]?.embedding[0]).toBeCloseTo(0.0023064255, 8);
    expect(Buffer.from(await response.arrayBuffer()).equals(fixture('embeddings.json'))).toBe(true);
    expect(EMBEDDING_NANOS).toBe(160);
    expectSpendEverywhere(await harness.waitForSpend((c) => c[0]?.requests === 2), keyId, 2 * EMBEDDING_NANOS, 2);
  });

  it('passes free endpoints through without recording spend', async () => {
    const client = fresh();

    const models = await client.models.list();

    expect(models.data.map((m) => m.id)).toEqual(['gpt-4o']);
    expectUpstreamSawProviderKeyOnly();
    expect(await harness.store.getSpend()).toEqual([]);
  });

  it('meters a gzip-compressed upstream while the client gets the compressed bytes', async () => {
    const client = fresh();
    harness.upstream.behaviour.gzip = true;

    const raw = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }).asResponse();
    const completion = (await raw.json()) as OpenAI.ChatCompletion;
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';

    expect(harness.upstream.requests[0]?.headers['accept-encoding']).toContain('gzip');
    expect(raw.headers.get('content-encoding')).toBe('gzip');
    expect(completion.choices[0]?.message.content).toBe('Hello! How can I assist you today?');
    expect(text).toBe('Hello! How can I help — today? 👋');
    const counters = await harness.waitForSpend((c) => c[0]?.requests === 2);
    expect(counters.find((c) => c.scope.kind === 'key' && c.period === 'lifetime')?.nanos).toBe(CHAT_NANOS + CHAT_STREAM_NANOS);
  });
});
