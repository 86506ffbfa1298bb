import { ApiError, GoogleGenAI } from '@google/genai';
import { formatUsd } from '../../lambda/pricing/money';
import { GEMINI_UPSTREAM_KEY, glaFixture, startFakeGeminiApi, type FakeGeminiApi } from '../support/fake-gemini-api';
import { LOCATION, PROJECT, startFakeGoogle, type FakeGoogle } from '../support/fake-google';
import { startHarness, type Harness } from '../support/harness';
import { expectedNanos, expectSpendEverywhere, serviceAccount } from '../support/vertex-harness';

// From the recordings by hand: thinking tokens bill as output.
const GENERATE_NANOS = expectedNanos({ input_tokens: 1187, cache_read_tokens: 1024, output_tokens: 16 + 41 }, 'gemini-2.5-flash');
const STREAM_NANOS = expectedNanos({ input_tokens: 7, output_tokens: 12 + 35 }, 'gemini-2.5-flash');

const MODEL_PATH = '/v1beta/models/gemini-2.5-flash';

/**
 * The Gemini Developer API (what `GoogleGenAI` sends without `vertexai`, and LangChain's
 * `ChatGoogleGenerativeAI`) on its own route and on the `gemini` and `google` routes it shares with
 * Vertex. Vertex is configured too, on a fake that would take any Vertex call: it must see none.
 */
describe('the Gemini Developer API through the gateway, with @google/genai', () => {
  let gemini: FakeGeminiApi;
  let google: FakeGoogle;
  let harness: Harness;
  let key: string;
  let keyId: string;

  beforeAll(async () => {
    gemini = await startFakeGeminiApi();
    google = await startFakeGoogle(serviceAccount());
  });
  beforeEach(async () => {
    gemini.reset();
    google.requests.length = 0;
    harness = await startHarness({
      config: (openaiBaseUrl) => ({
        providers: {
          openai: { baseUrl: openaiBaseUrl },
          'google-vertex': { baseUrl: google.baseUrl, options: { project: PROJECT, location: LOCATION, tokenUrl: google.tokenUrl } },
          'google-gla': { baseUrl: gemini.baseUrl },
        },
      }),
      env: { GOOGLE_APPLICATION_CREDENTIALS_JSON: serviceAccount().json, GEMINI_API_KEY: GEMINI_UPSTREAM_KEY },
    });
    const issued = await harness.issue();
    key = issued.key;
    keyId = issued.record.id;
  });
  afterEach(async () => {
    await harness.close();
  });
  afterAll(async () => {
    await gemini.close();
    await google.close();
  });

  /** The SDK's Developer API mode: the gateway key as its API key, sent as `x-goog-api-key`. */
  const client = (route: string) => new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: `${harness.gateway.url}/proxy/${route}` } });

  function expectOnlyTheGeminiApiSawTheApiKey(): void {
    expect(gemini.requests.length).toBeGreaterThan(0);
    for (const seen of gemini.requests) {
      expect(seen.headers['x-goog-api-key']).toBe(GEMINI_UPSTREAM_KEY);
      expect(seen.headers.authorization).toBeUndefined();
      expect(JSON.stringify(seen.headers)).not.toContain(key);
      expect(seen.url).not.toContain(key);
      expect(seen.body.toString('utf8')).not.toContain(key);
    }
    expect(google.requests).toHaveLength(0);
    expect(google.mints).toHaveLength(0);
  }

  describe.each(['gemini', 'google-gla', 'google'])('on route %s', (route) => {
    it('generates content on the Gemini API, never on Vertex, and records its cost', async () => {
      // WHEN
      const response = await client(route).models.generateContent({ model: 'gemini-2.5-flash', contents: 'What does tollgate do?' });

      // THEN
      expect(response.text).toBe('The Gemini API, metered by tollgate — thinking tokens included. ✅');
      expect(response.sdkHttpResponse?.headers?.['x-tollgate-cost-usd']).toBe(formatUsd(GENERATE_NANOS));
      expect(response.sdkHttpResponse?.headers?.['x-tollgate-provider']).toBe('google-gla');
      expect(gemini.requests.map((r) => `${r.method} ${r.url}`)).toEqual([`POST ${MODEL_PATH}:generateContent`]);
      expect(JSON.parse(gemini.requests[0]?.body.toString('utf8') ?? '{}')).toEqual({ contents: [{ parts: [{ text: 'What does tollgate do?' }], role: 'user' }] });
      expectOnlyTheGeminiApiSawTheApiKey();
      expectSpendEverywhere(await harness.waitForSpend((c) => c.length === 12), keyId, GENERATE_NANOS);
    });

    it('streams over SSE chunk by chunk and meters the final usage', async () => {
      // WHEN
      const stream = await client(route).models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'Hi' });
      const texts: string[] = [];
      for await (const chunk of stream) texts.push(chunk.text ?? '');

      // THEN
      expect(texts).toEqual(['Streamed', ' by the Gemini API —', ' through tollgate. 👋']);
      expect(gemini.requests.map((r) => r.url)).toEqual([`${MODEL_PATH}:streamGenerateContent?alt=sse`]);
      expectOnlyTheGeminiApiSawTheApiKey();
      expectSpendEverywhere(await harness.waitForSpend((c) => c.length === 12), keyId, STREAM_NANOS);
    });
  });

  it('counts tokens without recording spend', async () => {
    const counted = await client('gemini').models.countTokens({ model: 'gemini-2.5-flash', contents: 'How many tokens is this?' });

    expect(counted.totalTokens).toBe(7);
    expect(gemini.requests.map((r) => r.url)).toEqual([`${MODEL_PATH}:countTokens`]);
    expectOnlyTheGeminiApiSawTheApiKey();
    // A free call settles nothing; give a wrongly metered one the time to land before looking.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await harness.store.getSpend()).toEqual([]);
  });

  it('meters a stream sent as a JSON array (no alt=sse), passing its bytes unchanged', async () => {
    const response = await fetch(`${harness.gateway.url}/proxy/gemini${MODEL_PATH}:streamGenerateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] }),
    });
    const text = await response.text();

    expect(response.status).toBe(200);
    expect(JSON.parse(text)).toHaveLength(3);
    expect(text.startsWith('[{"candidates"')).toBe(true);
    expectOnlyTheGeminiApiSawTheApiKey();
    expectSpendEverywhere(await harness.waitForSpend((c) => c.length === 12), keyId, STREAM_NANOS);
  });

  it('lists the base models for free', async () => {
    const response = await fetch(`${harness.gateway.url}/proxy/google-gla/v1beta/models?pageSize=50`, { headers: { 'x-goog-api-key': key } });

    expect(response.status).toBe(200);
    expect(((await response.json()) as { models: { name: string }[] }).models[0]?.name).toBe('models/gemini-2.5-flash');
    expect(gemini.requests.map((r) => r.url)).toEqual(['/v1beta/models?pageSize=50']);
    expectOnlyTheGeminiApiSawTheApiKey();
  });

  it.each([
    ['alone', {}],
    ['besides the header', { 'x-goog-api-key': 'KEY' }],
  ])('refuses a key in the query (it could be the gateway key), %s, before anything is forwarded', async (_how, headers: Record<string, string>) => {
    const response = await fetch(`${harness.gateway.url}/proxy/gemini${MODEL_PATH}:generateContent?key=${key}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, value.replace('KEY', key)])) },
      body: '{"contents":[]}',
    });

    expect(response.status).toBe(400);
    const text = await response.text();
    expect(JSON.parse(text).error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT', message: expect.stringContaining('x-goog-api-key') });
    expect(text).not.toContain(key);
    expect(gemini.requests).toHaveLength(0);
  });

  it.each([
    ['a Vertex path', `/v1beta1/projects/${PROJECT}/locations/${LOCATION}/publishers/google/models/gemini-2.5-flash:generateContent`],
    ['a tuned model (the key’s project’s, shared by every gateway key)', '/v1beta/tunedModels/my-model:generateContent'],
    ['a cached content', '/v1beta/cachedContents'],
    ['an encoded action', `${MODEL_PATH}%3AgenerateContent`],
  ])('refuses %s on the Gemini API route, and forwards nothing anywhere', async (_what, path) => {
    const response = await fetch(`${harness.gateway.url}/proxy/google-gla${path}`, {
      method: 'POST',
      headers: { 'x-goog-api-key': key, 'content-type': 'application/json' },
      body: '{"contents":[]}',
    });

    expect([400, 404]).toContain(response.status);
    expect(gemini.requests).toHaveLength(0);
    expect(google.requests).toHaveLength(0);
  });

  it('shows the SDK a Google-shaped 401 for an unknown gateway key, and calls nobody', async () => {
    const ai = new GoogleGenAI({ apiKey: 'tgk_nope_not-a-real-key', httpOptions: { baseUrl: `${harness.gateway.url}/proxy/gemini` } });

    const failure = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Hi' }).catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(ApiError);
    expect((failure as ApiError).status).toBe(401);
    expect(gemini.requests).toHaveLength(0);
    expect(google.requests).toHaveLength(0);
  });

  it('passes the recorded document through byte for byte', async () => {
    const response = await fetch(`${harness.gateway.url}/proxy/gemini${MODEL_PATH}:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] }),
    });

    expect(Buffer.from(await response.arrayBuffer()).equals(glaFixture('generate-content.json'))).toBe(true);
  });
});
