import Anthropic from '@anthropic-ai/sdk';
import { calcPrice, type Usage } from '@pydantic/genai-prices';
import { formatUsd, usdToNanos } from '../../lambda/pricing/money';
import type { SpendCounter } from '../../lambda/store/port';
import { ANTHROPIC_UPSTREAM_KEY, anthropicFixture, startAnthropicGateway, type AnthropicGateway } from '../support/fake-anthropic';

const MODEL = 'claude-sonnet-4-20250514';

function expectedNanos(usage: Usage): number {
  const price = calcPrice(usage, MODEL, { providerId: 'anthropic' });
  if (!price) throw new Error(`no price for ${MODEL}`);
  return usdToNanos(price.total_price);
}

// Usage as genai-prices counts it, worked out by hand from the recordings: `input_tokens` is the
// whole prompt (uncached + cache writes + cache reads), and the writes keep their 5m / 1h split.
const MESSAGE_USAGE = {
  input_tokens: 21 + 2188 + 1024,
  cache_write_tokens: 2188,
  cache_write_5m_tokens: 1500,
  cache_write_1h_tokens: 688,
  cache_read_tokens: 1024,
  output_tokens: 14,
};
const STREAM_USAGE = {
  input_tokens: 472 + 1200 + 3150,
  cache_write_tokens: 1200,
  cache_write_5m_tokens: 0,
  cache_write_1h_tokens: 1200,
  cache_read_tokens: 3150,
  output_tokens: 37,
};
const MESSAGE_NANOS = expectedNanos(MESSAGE_USAGE);
const STREAM_NANOS = expectedNanos(STREAM_USAGE);

const REQUEST = { model: MODEL, max_tokens: 1024, messages: [{ role: 'user' as const, content: 'Hello, Claude' }] };

/** Every scope (key, project, user) × every period (day, week, month, lifetime) moved by exactly this. */
function expectSpendEverywhere(counters: SpendCounter[], keyId: string, nanos: number, requests = 1): void {
  for (const scope of [`key:${keyId}`, 'project:acme', 'user:ada']) {
    const mine = counters.filter((c) => `${c.scope.kind}:${c.scope.id}` === scope);
    expect(mine.map((c) => c.period.split(':')[0]).sort()).toEqual(['day', 'lifetime', 'month', 'week']);
    for (const counter of mine) expect(counter).toMatchObject({ nanos, requests });
  }
}

describe('Anthropic through the gateway, with the official SDK', () => {
  let gateway: AnthropicGateway;
  let key: string;
  let keyId: string;

  beforeEach(async () => {
    gateway = await startAnthropicGateway();
    const issued = await gateway.harness.issue();
    key = issued.key;
    keyId = issued.record.id;
  });
  afterEach(async () => {
    await gateway.close();
  });

  const baseURL = () => `${gateway.harness.gateway.url}/proxy/anthropic`;

  // `apiKey: null` on the bearer client, so a developer's own ANTHROPIC_API_KEY cannot ride along.
  const clients: [string, () => Anthropic][] = [
    ['authToken (Authorization: Bearer)', () => new Anthropic({ authToken: key, apiKey: null, baseURL: baseURL() })],
    ['apiKey (x-api-key)', () => new Anthropic({ apiKey: key, baseURL: baseURL() })],
  ];

  function expectUpstreamSawProviderKeyOnly(): void {
    expect(gateway.upstream.requests.length).toBeGreaterThan(0);
    for (const seen of gateway.upstream.requests) {
      expect(seen.headers['x-api-key']).toBe(ANTHROPIC_UPSTREAM_KEY);
      expect(seen.headers.authorization).toBeUndefined();
      expect(JSON.stringify(seen.headers)).not.toContain(key);
      expect(seen.body.toString('utf8')).not.toContain(key);
    }
  }

  describe.each(clients)('with %s', (_auth, client) => {
    it('returns the upstream bytes unchanged and records the exact cost, cache writes and reads included', async () => {
      // GIVEN
      const anthropic = client();

      // WHEN
      const response = await anthropic.messages.create(REQUEST).asResponse();
      const body = Buffer.from(await response.arrayBuffer());

      // THEN
      expect(body.equals(anthropicFixture('message.json'))).toBe(true);
      expect(response.headers.get('request-id')).toBe('req_011CSHoEeqs5C35K2UUqR7Fy');
      // By hand: 21×$3 + 1500×$3.75 + 688×$6 + 1024×$0.30 + 14×$15 per million tokens.
      expect(MESSAGE_NANOS).toBe(10_333_200);
      expect(response.headers.get('x-tollgate-cost-usd')).toBe(formatUsd(MESSAGE_NANOS));
      expectUpstreamSawProviderKeyOnly();
      const seen = gateway.upstream.requests[0];
      expect(seen?.url).toBe('/v1/messages');
      // The SDK's own version date passes through (the raw Claude Code test pins an exact value).
      expect(seen?.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(JSON.parse(seen?.body.toString('utf8') ?? '{}')).toEqual(REQUEST);
      expectSpendEverywhere(await gateway.harness.waitForSpend((c) => c.length === 12), keyId, MESSAGE_NANOS);
    });

    it('streams the upstream bytes unchanged, forwards the body untouched, and meters message_start + message_delta', async () => {
      const anthropic = client();

      const response = await anthropic.messages.create({ ...REQUEST, stream: true }).asResponse();
      const body = Buffer.from(await response.arrayBuffer());

      expect(body.equals(anthropicFixture('message-stream.sse'))).toBe(true);
      expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(gateway.upstream.requests[0]?.body.toString('utf8')).toBe(JSON.stringify({ ...REQUEST, stream: true }));
      expectUpstreamSawProviderKeyOnly();
      // By hand: 472×$3 + 1200×$6 (1-hour cache write) + 3150×$0.30 + 37×$15 per million tokens.
      expect(STREAM_NANOS).toBe(10_116_000);
      expectSpendEverywhere(await gateway.harness.waitForSpend((c) => c.length === 12), keyId, STREAM_NANOS);
    });
  });

  it('hands the SDK a stream it assembles into the same message and usage the gateway priced', async () => {
    const anthropic = clients[0]![1]();

    const stream = anthropic.messages.stream(REQUEST);
    const message = await stream.finalMessage();

    expect(message.content).toEqual([{ type: 'text', text: 'Grüß dich! How can I help — today? 👋' }]);
    expect(message.usage).toMatchObject({ input_tokens: 472, cache_creation_input_tokens: 1200, cache_read_input_tokens: 3150, output_tokens: 37 });
    expectSpendEverywhere(await gateway.harness.waitForSpend((c) => c.length === 12), keyId, STREAM_NANOS);
  });

  // This SDK marks beta calls with the anthropic-beta header alone; Claude Code's also adds `?beta=true`.
  it.each([
    ['as this SDK sends them', undefined, '/v1/messages'],
    ['with ?beta=true, as Claude Code sends them', { query: { beta: 'true' } }, '/v1/messages?beta=true'],
  ])('forwards beta requests %s, with their anthropic-beta header, and meters them', async (_how, options, upstreamUrl) => {
    const anthropic = clients[0]![1]();

    const message = await anthropic.beta.messages.create({ ...REQUEST, betas: ['interleaved-thinking-2025-05-14'] }, options);

    expect(message.id).toBe('msg_01XFDUDYJgAACzvnptvVoYEL');
    const seen = gateway.upstream.requests[0];
    expect(seen?.url).toBe(upstreamUrl);
    expect(seen?.headers['anthropic-beta']).toBe('interleaved-thinking-2025-05-14');
    expectUpstreamSawProviderKeyOnly();
    expectSpendEverywhere(await gateway.harness.waitForSpend((c) => c.length === 12), keyId, MESSAGE_NANOS);
  });

  it('passes count_tokens and the model list through without recording spend', async () => {
    const anthropic = clients[1]![1]();

    const counted = await anthropic.messages.countTokens({ model: MODEL, messages: REQUEST.messages });
    const models = await anthropic.models.list();

    expect(counted.input_tokens).toBe(2095);
    expect(models.data.map((m) => m.id)).toEqual(['claude-sonnet-4-20250514', 'claude-3-5-haiku-20241022']);
    expect(gateway.upstream.requests.map((r) => `${r.method} ${r.url.split('?')[0]}`)).toEqual(['POST /v1/messages/count_tokens', 'GET /v1/models']);
    expectUpstreamSawProviderKeyOnly();
    // Give a wrongly recorded write the time to land before asserting there is none.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await gateway.harness.store.getSpend()).toEqual([]);
  });

  it('records an error event inside a 200 stream as a failed request, charging the usage seen so far', async () => {
    gateway.upstream.behaviour.streamRecording = 'message-stream-overloaded.sse';
    const anthropic = clients[0]![1]();

    const raw = await anthropic.messages.create({ ...REQUEST, stream: true }).asResponse();
    const bytes = Buffer.from(await raw.arrayBuffer());
    const failure = await (async () => {
      for await (const _event of await anthropic.messages.create({ ...REQUEST, stream: true })) {
        // read to the error
      }
    })().catch((e: unknown) => e);

    expect(bytes.equals(anthropicFixture('message-stream-overloaded.sse'))).toBe(true);
    expect(failure).toBeInstanceOf(Anthropic.APIError);
    expect(String(failure)).toContain('Overloaded');
    // message_start reported 25 input tokens and 1 output token before the error.
    const nanos = expectedNanos({ input_tokens: 25, output_tokens: 1 });
    expect(nanos).toBe(90_000);
    expectSpendEverywhere(await gateway.harness.waitForSpend((c) => c[0]?.requests === 2), keyId, 2 * nanos, 2);
  });

  it('meters a gzip-compressed upstream while the client gets the compressed bytes', async () => {
    gateway.upstream.behaviour.gzip = true;
    const anthropic = clients[1]![1]();

    const raw = await anthropic.messages.create(REQUEST).asResponse();
    const message = (await raw.json()) as Anthropic.Message;
    const streamed = await anthropic.messages.stream(REQUEST).finalText();

    expect(gateway.upstream.requests[0]?.headers['accept-encoding']).toContain('gzip');
    expect(raw.headers.get('content-encoding')).toBe('gzip');
    expect(message.usage.output_tokens).toBe(14);
    expect(streamed).toBe('Grüß dich! How can I help — today? 👋');
    const counters = await gateway.harness.waitForSpend((c) => c[0]?.requests === 2);
    expect(counters.find((c) => c.scope.kind === 'key' && c.period === 'lifetime')?.nanos).toBe(MESSAGE_NANOS + STREAM_NANOS);
  });
});
