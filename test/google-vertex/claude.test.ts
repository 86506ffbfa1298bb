import Anthropic from '@anthropic-ai/sdk';
import { AnthropicVertex } from '@anthropic-ai/vertex-sdk';
import { calcPrice, type Usage } from '@pydantic/genai-prices';
import { OAuth2Client } from 'google-auth-library';
import { formatUsd, usdToNanos } from '../../lambda/pricing/money';
import { anthropicFixture } from '../support/fake-anthropic';
import { LOCATION, PROJECT } from '../support/fake-google';
import { expectSpendEverywhere, startVertexHarness, type VertexHarness } from '../support/vertex-harness';

/** Vertex's name for the model the recordings came from; the responses name it Anthropic's way. */
const MODEL = 'claude-sonnet-4@20250514';
const REPORTED_MODEL = 'claude-sonnet-4-20250514';
const MODEL_PATH = `/v1/projects/${PROJECT}/locations/${LOCATION}/publishers/anthropic/models/${MODEL}`;
const COUNT_TOKENS_PATH = `/v1/projects/${PROJECT}/locations/${LOCATION}/publishers/anthropic/models/count-tokens:rawPredict`;

// Usage as genai-prices counts it, worked out by hand from the recordings (as in the Anthropic
// SDK test): the whole prompt as input, cache writes with their 5m / 1h split, cache reads.
const MESSAGE_USAGE = { input_tokens: 21 + 2188 + 1024, cache_write_tokens: 2188, cache_write_5m_tokens: 1500, cache_write_1h_tokens: 688, cache_read_tokens: 1024, output_tokens: 14 };
const STREAM_USAGE = { input_tokens: 472 + 1200 + 3150, cache_write_tokens: 1200, cache_write_5m_tokens: 0, cache_write_1h_tokens: 1200, cache_read_tokens: 3150, output_tokens: 37 };

/** Claude on Vertex is priced with genai-prices' Google rates (which fall back to Anthropic's for models Google's data lacks). */
function googleNanos(usage: Usage, model: string): number {
  const price = calcPrice(usage, model, { providerId: 'google' });
  if (!price) throw new Error(`no price for ${model}`);
  return usdToNanos(price.total_price);
}

const MESSAGE_NANOS = googleNanos(MESSAGE_USAGE, REPORTED_MODEL);
const STREAM_NANOS = googleNanos(STREAM_USAGE, REPORTED_MODEL);

const MESSAGES = [{ role: 'user' as const, content: 'Hello, Claude' }];
const REQUEST = { model: MODEL, max_tokens: 1024, messages: MESSAGES };
const STREAM_TEXT = 'Grüß dich! How can I help — today? 👋';

describe('Claude on Vertex through the gateway', () => {
  let vertex: VertexHarness;

  beforeEach(async () => {
    vertex = await startVertexHarness();
  });
  afterEach(async () => {
    await vertex.close();
  });

  function expectUpstreamSawMintedTokenOnly(): void {
    const { requests, mints } = vertex.google;
    expect(requests.length).toBeGreaterThan(0);
    expect(mints).toHaveLength(1);
    for (const seen of requests) {
      expect(seen.headers.authorization).toBe(`Bearer ${mints[0]?.token}`);
      expect(seen.headers['x-goog-api-key']).toBeUndefined();
      expect(seen.headers['x-api-key']).toBeUndefined();
      expect(JSON.stringify(seen.headers)).not.toContain(vertex.key);
      expect(seen.body.toString('utf8')).not.toContain(vertex.key);
    }
  }

  function upstreamBody(index = 0): Record<string, unknown> {
    return JSON.parse(vertex.google.requests[index]?.body.toString('utf8') ?? '{}') as Record<string, unknown>;
  }

  async function expectNoSpend(): Promise<void> {
    // A free call settles nothing; give a wrongly metered one the time to land before looking.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await vertex.harness.store.getSpend()).toEqual([]);
  }

  it('prices with Google’s Claude rates, cache reads and writes included', () => {
    // By hand, Google's claude-4-sonnet rates per million tokens: 21×$3 + 2188×$3.75 (Google's data
    // has no 1-hour cache-write rate: both TTLs at the write rate) + 1024×$0.30 + 14×$15.
    expect(MESSAGE_NANOS).toBe(8_785_200);
    // 472×$3 + 1200×$3.75 + 3150×$0.30 + 37×$15.
    expect(STREAM_NANOS).toBe(7_416_000);
  });

  describe.each([
    // What a user would write: the gateway key as the "access token" (Authorization: Bearer) …
    ['an access token', () => withAccessToken(vertex.key), 'authorization'],
    // … or as the client's API key (x-goog-api-key).
    ['an API key', () => new OAuth2Client({ apiKey: vertex.key }), 'x-goog-api-key'],
  ])('with AnthropicVertex, the gateway key as %s', (_how, authClient, header) => {
    /** The SDK's requests as it sent them, to compare with what reached Vertex. */
    let sent: { url: string; headers: Headers; body: string }[];

    function client(): AnthropicVertex {
      sent = [];
      return new AnthropicVertex({
        baseURL: `${vertex.harness.gateway.url}/proxy/google-vertex/v1`,
        // The caller's own project and region: the gateway replaces both with its configured ones.
        projectId: 'callers-own-project',
        region: 'us-east5',
        authClient: authClient(),
        maxRetries: 0,
        fetch: async (url, init) => {
          sent.push({ url: String(url), headers: new Headers(init?.headers), body: String(init?.body) });
          return fetch(url, init);
        },
      });
    }

    it('gets the message from :rawPredict in the gateway’s project, body forwarded as sent, and records its exact cost', async () => {
      // GIVEN
      const claude = client();

      // WHEN
      const { data, response } = await claude.messages.create(REQUEST).withResponse();

      // THEN the client gets the recorded answer, bytes unchanged
      expect(data.content).toEqual([{ type: 'text', text: 'Hello! It’s good to hear from you. What can I help with?' }]);
      expect(sent[0]?.url).toBe(`${vertex.harness.gateway.url}/proxy/google-vertex/v1/projects/callers-own-project/locations/us-east5/publishers/anthropic/models/${MODEL}:rawPredict`);
      expect(sent[0]?.headers.has(header)).toBe(true);
      expect(response.headers.get('x-tollgate-provider')).toBe('google-vertex');
      expect(response.headers.get('x-tollgate-cost-usd')).toBe(formatUsd(MESSAGE_NANOS));
      // AND Vertex saw the model in its path only, in the configured project and location, with the SDK's body byte for byte
      expect(vertex.google.requests.map((r) => `${r.method} ${r.url}`)).toEqual([`POST ${MODEL_PATH}:rawPredict`]);
      expect(vertex.google.requests[0]?.body.toString('utf8')).toBe(sent[0]?.body);
      expect(upstreamBody()).toEqual({ anthropic_version: expect.any(String), max_tokens: 1024, messages: MESSAGES });
      expectUpstreamSawMintedTokenOnly();
      expectSpendEverywhere(await vertex.harness.waitForSpend((c) => c.length === 12), vertex.keyId, MESSAGE_NANOS);
    });

    it('streams the message from :streamRawPredict and meters message_start + message_delta', async () => {
      // GIVEN
      const claude = client();

      // WHEN
      const response = await claude.messages.create({ ...REQUEST, stream: true }).asResponse();
      const bytes = Buffer.from(await response.arrayBuffer());
      const message = await claude.messages.stream(REQUEST).finalMessage();

      // THEN
      expect(bytes.equals(anthropicFixture('message-stream.sse'))).toBe(true);
      expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(message.content).toEqual([{ type: 'text', text: STREAM_TEXT }]);
      expect(vertex.google.requests.map((r) => r.url)).toEqual([`${MODEL_PATH}:streamRawPredict`, `${MODEL_PATH}:streamRawPredict`]);
      expect(upstreamBody()).toEqual({ anthropic_version: expect.any(String), max_tokens: 1024, messages: MESSAGES, stream: true });
      expectUpstreamSawMintedTokenOnly();
      expectSpendEverywhere(await vertex.harness.waitForSpend((c) => c[0]?.requests === 2), vertex.keyId, 2 * STREAM_NANOS, 2);
    });

    it('counts tokens at count-tokens:rawPredict without recording spend', async () => {
      const claude = client();

      const counted = await claude.messages.countTokens({ model: MODEL, messages: MESSAGES });

      expect(counted.input_tokens).toBe(2095);
      expect(vertex.google.requests.map((r) => r.url)).toEqual([COUNT_TOKENS_PATH]);
      expect(vertex.google.requests[0]?.body.toString('utf8')).toBe(sent[0]?.body);
      expectUpstreamSawMintedTokenOnly();
      await expectNoSpend();
    });
  });

  it('serves the v1beta1 spelling too', async () => {
    const claude = new AnthropicVertex({
      baseURL: `${vertex.harness.gateway.url}/proxy/google-vertex/v1beta1`,
      projectId: 'callers-own-project',
      region: 'global',
      authClient: withAccessToken(vertex.key),
      maxRetries: 0,
    });

    const message = await claude.messages.create(REQUEST);

    expect(message.id).toBe('msg_01XFDUDYJgAACzvnptvVoYEL');
    expect(vertex.google.requests[0]?.url).toBe(`/v1beta1/projects/${PROJECT}/locations/${LOCATION}/publishers/anthropic/models/${MODEL}:rawPredict`);
    expectSpendEverywhere(await vertex.harness.waitForSpend((c) => c.length === 12), vertex.keyId, MESSAGE_NANOS);
  });

  it('shows AnthropicVertex an Anthropic-shaped 401 for an unknown gateway key, and never calls Google', async () => {
    const claude = new AnthropicVertex({
      baseURL: `${vertex.harness.gateway.url}/proxy/google-vertex/v1`,
      projectId: 'p',
      region: 'global',
      authClient: withAccessToken('tgk_nope_not-a-real-key'),
      maxRetries: 0,
    });

    const failure = await claude.messages.create(REQUEST).catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((failure as InstanceType<typeof Anthropic.AuthenticationError>).error).toEqual({ type: 'error', error: { type: 'authentication_error', message: expect.any(String) } });
    expect(vertex.google.requests).toHaveLength(0);
    expect(vertex.google.mints).toHaveLength(0);
  });

  describe.each(['google-vertex', 'gemini', 'google'])('with the Anthropic SDK on route %s (/v1/messages rewritten)', (route) => {
    function client(): Anthropic {
      return new Anthropic({ apiKey: vertex.key, baseURL: `${vertex.harness.gateway.url}/proxy/${route}`, maxRetries: 0 });
    }

    it('sends :rawPredict with the model in the path, none in the body, anthropic_version set, and records the cost', async () => {
      // GIVEN
      const claude = client();

      // WHEN
      const response = await claude.messages.create(REQUEST).asResponse();
      const bytes = Buffer.from(await response.arrayBuffer());

      // THEN the client gets the recorded answer unchanged
      expect(bytes.equals(anthropicFixture('message.json'))).toBe(true);
      expect(response.headers.get('x-tollgate-cost-usd')).toBe(formatUsd(MESSAGE_NANOS));
      // AND Vertex saw the recorded exchange's shape exactly
      expect(vertex.google.requests.map((r) => `${r.method} ${r.url}`)).toEqual([`POST ${MODEL_PATH}:rawPredict`]);
      const body = upstreamBody();
      expect(body).toEqual({ anthropic_version: 'vertex-2023-10-16', max_tokens: 1024, messages: MESSAGES });
      expect(Object.keys(body)).not.toContain('model');
      expectUpstreamSawMintedTokenOnly();
      expectSpendEverywhere(await vertex.harness.waitForSpend((c) => c.length === 12), vertex.keyId, MESSAGE_NANOS);
    });

    it('sends stream: true to :streamRawPredict and streams the events back unchanged', async () => {
      const claude = client();

      const response = await claude.messages.create({ ...REQUEST, stream: true }).asResponse();
      const bytes = Buffer.from(await response.arrayBuffer());
      const text = await claude.messages.stream(REQUEST).finalText();

      expect(bytes.equals(anthropicFixture('message-stream.sse'))).toBe(true);
      expect(text).toBe(STREAM_TEXT);
      expect(vertex.google.requests.map((r) => r.url)).toEqual([`${MODEL_PATH}:streamRawPredict`, `${MODEL_PATH}:streamRawPredict`]);
      expect(upstreamBody()).toEqual({ anthropic_version: 'vertex-2023-10-16', max_tokens: 1024, messages: MESSAGES, stream: true });
      expectUpstreamSawMintedTokenOnly();
      expectSpendEverywhere(await vertex.harness.waitForSpend((c) => c[0]?.requests === 2), vertex.keyId, 2 * STREAM_NANOS, 2);
    });
  });

  it('drops the SDK’s ?beta=true, which Vertex has no parameter for, and keeps the anthropic-beta header', async () => {
    const claude = new Anthropic({ apiKey: vertex.key, baseURL: `${vertex.harness.gateway.url}/proxy/google-vertex`, maxRetries: 0 });

    const message = await claude.beta.messages.create({ ...REQUEST, betas: ['interleaved-thinking-2025-05-14'] }, { query: { beta: 'true' } });

    expect(message.id).toBe('msg_01XFDUDYJgAACzvnptvVoYEL');
    expect(vertex.google.requests[0]?.url).toBe(`${MODEL_PATH}:rawPredict`);
    expect(vertex.google.requests[0]?.headers['anthropic-beta']).toBe('interleaved-thinking-2025-05-14');
    expectSpendEverywhere(await vertex.harness.waitForSpend((c) => c.length === 12), vertex.keyId, MESSAGE_NANOS);
  });

  it('keeps an anthropic_version the body names itself', async () => {
    const response = await postMessages({ ...REQUEST, anthropic_version: 'vertex-2099-01-01' });

    expect(response.status).toBe(200);
    expect(upstreamBody()).toEqual({ anthropic_version: 'vertex-2099-01-01', max_tokens: 1024, messages: MESSAGES });
  });

  it('rewrites /v1/messages/count_tokens to count-tokens:rawPredict, body unchanged, without recording spend', async () => {
    const claude = new Anthropic({ apiKey: vertex.key, baseURL: `${vertex.harness.gateway.url}/proxy/google-vertex`, maxRetries: 0 });

    const counted = await claude.messages.countTokens({ model: MODEL, messages: MESSAGES });

    expect(counted.input_tokens).toBe(2095);
    expect(vertex.google.requests.map((r) => r.url)).toEqual([COUNT_TOKENS_PATH]);
    expect(upstreamBody()).toEqual({ model: MODEL, messages: MESSAGES });
    expectUpstreamSawMintedTokenOnly();
    await expectNoSpend();
  });

  it('prices a model Google’s data lacks with Anthropic’s rates, 1-hour cache writes at their own rate', async () => {
    // GIVEN a model genai-prices has no Google rates for (it falls back to Anthropic's)
    vertex.google.claudeModel = 'claude-haiku-4-5-20251001';

    // WHEN
    const response = await postMessages({ ...REQUEST, model: 'claude-haiku-4-5@20251001' });

    // THEN by hand: 21×$1 + 1500×$1.25 + 688×$2 (1-hour write) + 1024×$0.10 + 14×$5 per million tokens
    const nanos = googleNanos(MESSAGE_USAGE, 'claude-haiku-4-5-20251001');
    expect(nanos).toBe(3_444_400);
    expect(response.headers.get('x-tollgate-cost-usd')).toBe(formatUsd(nanos));
    expect(vertex.google.requests[0]?.url).toBe(`/v1/projects/${PROJECT}/locations/${LOCATION}/publishers/anthropic/models/claude-haiku-4-5@20251001:rawPredict`);
    expectSpendEverywhere(await vertex.harness.waitForSpend((c) => c.length === 12), vertex.keyId, nanos);
  });

  it.each([
    ['a model that would read as another path', { ...REQUEST, model: 'claude/../../x' }, '', 400, 'invalid_request_error'],
    ['a model with an action of its own', { ...REQUEST, model: 'claude:streamRawPredict' }, '', 400, 'invalid_request_error'],
    ['a model percent-encoding a separator', { ...REQUEST, model: 'claude%2Fx' }, '', 400, 'invalid_request_error'],
    ['no model', { max_tokens: 1024, messages: MESSAGES }, '', 400, 'invalid_request_error'],
    ['a query parameter Vertex would read', REQUEST, '?$userProject=other', 400, 'invalid_request_error'],
  ])('refuses %s in Anthropic’s error shape, before calling Google', async (_what, body, query, status, type) => {
    const response = await postMessages(body, query);

    expect(response.status).toBe(status);
    expect(await response.json()).toEqual({ type: 'error', error: { type, message: expect.any(String) } });
    expect(vertex.google.requests).toHaveLength(0);
  });

  it('answers an unknown key on /v1/messages in Anthropic’s shape', async () => {
    const claude = new Anthropic({ apiKey: 'tgk_nope_not-a-real-key', baseURL: `${vertex.harness.gateway.url}/proxy/google-vertex`, maxRetries: 0 });

    const failure = await claude.messages.create(REQUEST).catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(vertex.google.requests).toHaveLength(0);
  });

  it('still refuses other publishers’ rawPredict and Claude on other Gemini actions’ neighbours', async () => {
    const paths = [
      `/v1/projects/p/locations/l/publishers/google/models/gemini-2.5-flash:rawPredict`,
      `/v1/projects/p/locations/l/publishers/anthropic/models/count-tokens:streamRawPredict`,
      `/v1/projects/p/locations/l/endpoints/123:rawPredict`,
    ];

    const statuses = await Promise.all(paths.map(async (path) => (await post(`/proxy/google-vertex${path}`, REQUEST)).status));

    expect(statuses).toEqual([404, 404, 404]);
    expect(vertex.google.requests).toHaveLength(0);
  });

  function postMessages(body: unknown, query = ''): Promise<Response> {
    return post(`/proxy/google-vertex/v1/messages${query}`, body);
  }

  function post(path: string, body: unknown): Promise<Response> {
    return fetch(`${vertex.harness.gateway.url}${path}`, {
      method: 'POST',
      headers: { 'x-api-key': vertex.key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify(body),
    });
  }
});

/** A Google auth client whose "access token" is the gateway key: it never calls Google itself. */
function withAccessToken(key: string): OAuth2Client {
  const auth = new OAuth2Client();
  auth.setCredentials({ access_token: key });
  return auth;
}
