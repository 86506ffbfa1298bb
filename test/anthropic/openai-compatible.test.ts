import { calcPrice, type Usage } from '@pydantic/genai-prices';
import OpenAI from 'openai';
import { formatUsd, usdToNanos } from '../../lambda/pricing/money';
import { ANTHROPIC_UPSTREAM_KEY, anthropicFixture } from '../support/fake-anthropic';
import { startFakeChatUpstream, type FakeChatUpstream } from '../support/fake-chat-upstream';
import { startHarness, type Harness } from '../support/harness';
import { expectSpendEverywhere } from '../support/vertex-harness';

const MODEL = 'claude-sonnet-4-20250514';

function expectedNanos(usage: Usage): number {
  const price = calcPrice(usage, MODEL, { providerId: 'anthropic' });
  if (!price) throw new Error(`no price for ${MODEL}`);
  return usdToNanos(price.total_price);
}

// From the recordings by hand: OpenAI's prompt and completion tokens, at Anthropic's prices.
const CHAT_NANOS = expectedNanos({ input_tokens: 1843, output_tokens: 21 });
const STREAM_NANOS = expectedNanos({ input_tokens: 912, output_tokens: 17 });

const MESSAGES = [{ role: 'user' as const, content: 'Who are you?' }];

/** Anthropic's OpenAI SDK compatibility endpoint, as its guide uses it: the OpenAI SDK, its `baseURL` ending in `/v1`. */
describe('Anthropic’s OpenAI-compatible endpoint through the gateway, with the OpenAI SDK', () => {
  let upstream: FakeChatUpstream;
  let harness: Harness;
  let key: string;
  let keyId: string;

  beforeAll(async () => {
    upstream = await startFakeChatUpstream({
      // The compatibility layer takes the key as the OpenAI SDK sends one.
      authorized: (headers) => headers.authorization === `Bearer ${ANTHROPIC_UPSTREAM_KEY}`,
      routes: { 'POST /v1/chat/completions': { json: anthropicFixture('chat-completion.json'), sse: anthropicFixture('chat-completion-stream.sse') } },
      streamOptions: 'honoured',
    });
  });
  // A fresh gateway and store per test, so one test's spend cannot satisfy another's assertions.
  beforeEach(async () => {
    upstream.reset();
    harness = await startHarness({
      config: (openaiBaseUrl) => ({ providers: { openai: { baseUrl: openaiBaseUrl }, anthropic: { baseUrl: upstream.origin } } }),
      env: { ANTHROPIC_API_KEY: ANTHROPIC_UPSTREAM_KEY },
    });
    const issued = await harness.issue();
    key = issued.key;
    keyId = issued.record.id;
  });
  afterEach(async () => {
    await harness.close();
  });
  afterAll(async () => {
    await upstream.close();
  });

  const client = () => new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/anthropic/v1` });

  function expectUpstreamSawBearerProviderKeyOnly(): void {
    expect(upstream.requests.length).toBeGreaterThan(0);
    for (const seen of upstream.requests) {
      expect(`${seen.method} ${seen.url}`).toBe('POST /v1/chat/completions');
      expect(seen.headers.authorization).toBe(`Bearer ${ANTHROPIC_UPSTREAM_KEY}`);
      expect(seen.headers['x-api-key']).toBeUndefined();
      expect(JSON.stringify(seen.headers)).not.toContain(key);
      expect(seen.body.toString('utf8')).not.toContain(key);
    }
  }

  it('answers a chat completion with Anthropic’s bytes unchanged and records its cost at Anthropic’s prices', async () => {
    // WHEN
    const response = await client().chat.completions.create({ model: MODEL, max_tokens: 256, messages: MESSAGES }).asResponse();
    const body = Buffer.from(await response.arrayBuffer());

    // THEN
    expect(body.equals(anthropicFixture('chat-completion.json'))).toBe(true);
    expect(JSON.parse(body.toString('utf8')).choices[0].message.content).toBe("Hello! I'm Claude, answering through the OpenAI SDK — metered by tollgate.");
    expect(response.headers.get('x-tollgate-cost-usd')).toBe(formatUsd(CHAT_NANOS));
    expect(response.headers.get('x-tollgate-provider')).toBe('anthropic');
    expect(JSON.parse(upstream.requests[0]?.body.toString('utf8') ?? '{}')).toEqual({ model: MODEL, max_tokens: 256, messages: MESSAGES });
    expectUpstreamSawBearerProviderKeyOnly();
    expectSpendEverywhere(await harness.waitForSpend((c) => c.length === 12), keyId, CHAT_NANOS);
  });

  it('streams chunk by chunk, asks Anthropic for the usage chunk, and meters it', async () => {
    // WHEN
    const stream = await client().chat.completions.create({ model: MODEL, max_tokens: 256, messages: MESSAGES, stream: true });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage ?? usage;
    }

    // THEN
    expect(text).toBe('Hello! Streamed by Claude, byte for byte. 👋');
    expect(usage).toEqual({ completion_tokens: 17, prompt_tokens: 912, total_tokens: 929 });
    const sent = JSON.parse(upstream.requests[0]?.body.toString('utf8') ?? '{}');
    expect(sent.stream_options).toEqual({ include_usage: true });
    expectUpstreamSawBearerProviderKeyOnly();
    expectSpendEverywhere(await harness.waitForSpend((c) => c.length === 12), keyId, STREAM_NANOS);
  });

  it('shows the OpenAI SDK an OpenAI-shaped 401 for an unknown gateway key, and calls nobody', async () => {
    const stranger = new OpenAI({ apiKey: 'tgk_nope_not-a-real-key', baseURL: `${harness.gateway.url}/proxy/anthropic/v1` });

    const failure = await stranger.chat.completions.create({ model: MODEL, max_tokens: 256, messages: MESSAGES }).catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((failure as InstanceType<typeof OpenAI.AuthenticationError>).error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' });
    expect(upstream.requests).toHaveLength(0);
  });

  it.each([
    ['OpenAI’s own path, without /v1', 'POST', '/proxy/anthropic/chat/completions'],
    ['the Responses API, which the compatibility layer does not have', 'POST', '/proxy/anthropic/v1/responses'],
    ['embeddings', 'POST', '/proxy/anthropic/v1/embeddings'],
  ])('refuses %s with a 404 naming the chat endpoint, and forwards nothing', async (_what, method, path) => {
    const response = await fetch(`${harness.gateway.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: MESSAGES }),
    });

    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain('POST /v1/chat/completions');
    expect(upstream.requests).toHaveLength(0);
  });
});
