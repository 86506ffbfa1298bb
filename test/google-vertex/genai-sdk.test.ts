import { ApiError, GoogleGenAI } from '@google/genai';
import { LOCATION, PROJECT } from '../support/fake-google';
import { expectedNanos, expectSpendEverywhere, startVertexHarness, type VertexHarness } from '../support/vertex-harness';

// Computed from the recordings by hand, not by the gateway's extractor: thinking tokens bill as output.
const GENERATE_NANOS = expectedNanos({ input_tokens: 2113, cache_read_tokens: 1536, output_tokens: 14 + 59 }, 'gemini-2.5-flash');
const STREAM_NANOS = expectedNanos({ input_tokens: 1410, cache_read_tokens: 1024, output_tokens: 19 + 87 }, 'gemini-2.5-flash');

const MODEL_PATH = `/v1beta1/projects/${PROJECT}/locations/${LOCATION}/publishers/google/models/gemini-2.5-flash`;

describe('Google Vertex through the gateway, with @google/genai in Vertex mode', () => {
  let vertex: VertexHarness;

  beforeEach(async () => {
    vertex = await startVertexHarness();
  });
  afterEach(async () => {
    await vertex.close();
  });

  /**
   * The SDK's documented Vertex settings, pointed at the gateway. An `apiKey` makes it send the
   * key as `x-goog-api-key` instead of asking google-auth-library for ADC (which would reach
   * Google); the caller's own project and location are deliberately not the gateway's.
   */
  function client(route = 'google-vertex', key = vertex.key): GoogleGenAI {
    return new GoogleGenAI({
      vertexai: true,
      project: 'callers-own-project',
      location: 'us-east1',
      apiKey: key,
      httpOptions: { baseUrl: `${vertex.harness.gateway.url}/proxy/${route}` },
    });
  }

  function expectUpstreamSawMintedTokenOnly(): void {
    const { requests, mints } = vertex.google;
    expect(requests.length).toBeGreaterThan(0);
    expect(mints).toHaveLength(1);
    for (const seen of requests) {
      expect(seen.headers.authorization).toBe(`Bearer ${mints[0]?.token}`);
      expect(seen.headers['x-goog-api-key']).toBeUndefined();
      expect(JSON.stringify(seen.headers)).not.toContain(vertex.key);
      expect(seen.body.toString('utf8')).not.toContain(vertex.key);
    }
  }

  describe.each(['google-vertex', 'gemini', 'google'])('on route %s', (route) => {
    it('generates content in the configured project and records its cost, cached and thinking tokens included', async () => {
      // GIVEN
      const ai = client(route);

      // WHEN
      const response = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'What does tollgate do?' });

      // THEN
      expect(response.text).toBe('Tollgate meters every request — cached tokens included. ✅');
      expect(response.usageMetadata?.thoughtsTokenCount).toBe(59);
      expect(response.sdkHttpResponse?.headers?.['x-tollgate-cost-usd']).toBe(`0.${String(GENERATE_NANOS).padStart(9, '0').replace(/0+$/, '')}`);
      expect(vertex.google.requests.map((r) => `${r.method} ${r.url}`)).toEqual([`POST ${MODEL_PATH}:generateContent`]);
      expect(JSON.parse(vertex.google.requests[0]?.body.toString('utf8') ?? '{}')).toEqual({ contents: [{ parts: [{ text: 'What does tollgate do?' }], role: 'user' }] });
      expectUpstreamSawMintedTokenOnly();
      expectSpendEverywhere(await vertex.harness.waitForSpend((c) => c.length === 12), vertex.keyId, GENERATE_NANOS);
    });

    it('streams content over SSE chunk by chunk and meters the final usage', async () => {
      // GIVEN
      const ai = client(route);

      // WHEN
      const stream = await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'Hi' });
      const texts: string[] = [];
      let last: number | undefined;
      for await (const chunk of stream) {
        texts.push(chunk.text ?? '');
        last = chunk.usageMetadata?.totalTokenCount ?? last;
      }

      // THEN
      expect(texts).toEqual(['Hello', '! Tollgate streams every byte —', ' and counts the cached ones too. 👋']);
      expect(last).toBe(1516);
      expect(vertex.google.requests.map((r) => r.url)).toEqual([`${MODEL_PATH}:streamGenerateContent?alt=sse`]);
      expectUpstreamSawMintedTokenOnly();
      expectSpendEverywhere(await vertex.harness.waitForSpend((c) => c.length === 12), vertex.keyId, STREAM_NANOS);
    });
  });

  it('counts tokens without recording spend', async () => {
    const ai = client();

    const counted = await ai.models.countTokens({ model: 'gemini-2.5-flash', contents: 'How many tokens is this?' });

    expect(counted.totalTokens).toBe(9);
    expect(vertex.google.requests.map((r) => r.url)).toEqual([`${MODEL_PATH}:countTokens`]);
    expectUpstreamSawMintedTokenOnly();
    // A free call settles nothing; give a wrongly metered one the time to land before looking.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await vertex.harness.store.getSpend()).toEqual([]);
  });

  it('fills in the project and location for an SDK in express mode (no project in its paths)', async () => {
    // GIVEN the SDK's API-key mode, which sends `/v1beta1/publishers/google/models/…`
    const ai = new GoogleGenAI({ vertexai: true, apiKey: vertex.key, httpOptions: { baseUrl: `${vertex.harness.gateway.url}/proxy/google-vertex` } });

    // WHEN
    const response = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Hi' });

    // THEN
    expect(response.text).toContain('Tollgate meters every request');
    expect(vertex.google.requests[0]?.url).toBe(`${MODEL_PATH}:generateContent`);
    expectUpstreamSawMintedTokenOnly();
    expectSpendEverywhere(await vertex.harness.waitForSpend((c) => c.length === 12), vertex.keyId, GENERATE_NANOS);
  });

  it('mints one access token for many requests, sequential and concurrent', async () => {
    // GIVEN a token endpoint slow enough that concurrent requests overlap its one mint
    vertex.google.tokenDelayMs = 150;
    const ai = client();

    // WHEN
    await Promise.all(Array.from({ length: 5 }, () => ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Hi' })));
    await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Hi' });
    await ai.models.countTokens({ model: 'gemini-2.5-flash', contents: 'Hi' });

    // THEN
    expect(vertex.google.requests).toHaveLength(7);
    expectUpstreamSawMintedTokenOnly();
    expect(vertex.google.mints[0]?.header).toMatchObject({ alg: 'RS256', typ: 'JWT', kid: 'f3c1a2b4d5e6f708192a3b4c5d6e7f8091a2b3c4' });
  });

  it('shows the SDK a Google-shaped 401 for an unknown gateway key, and never calls Google', async () => {
    const ai = client('google-vertex', 'tgk_nope_not-a-real-key');

    const failure = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Hi' }).catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(ApiError);
    expect((failure as ApiError).status).toBe(401);
    expect(JSON.parse((failure as ApiError).message)).toEqual({ error: { code: 401, message: expect.any(String), status: 'UNAUTHENTICATED' } });
    expect(vertex.google.requests).toHaveLength(0);
    expect(vertex.google.mints).toHaveLength(0);
  });

  it('refuses a model with no known price before minting or forwarding anything', async () => {
    const ai = client();

    const failure = await ai.models.generateContent({ model: 'gemini-from-the-future', contents: 'Hi' }).catch((e: unknown) => e);

    expect((failure as ApiError).status).toBe(400);
    expect(JSON.parse((failure as ApiError).message).error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    expect((failure as ApiError).message).toContain('Unable to calculate spend for model \\"gemini-from-the-future\\"');
    expect(vertex.google.requests).toHaveLength(0);
    expect(vertex.google.mints).toHaveLength(0);
  });
});
