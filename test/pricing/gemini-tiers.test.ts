import { ApiError, GoogleGenAI, ServiceTier } from '@google/genai';
import { GEMINI_UPSTREAM_KEY, startFakeGeminiApi, type FakeGeminiApi } from '../support/fake-gemini-api';
import { startHarness, type Harness } from '../support/harness';
import { expectedNanos, startVertexHarness, type VertexHarness } from '../support/vertex-harness';
import { settledSpend as settled } from '../support/settled-spend';

/**
 * Gemini's service tiers, with the official SDK: the reservation prices the tier asked for (the
 * body's `serviceTier`, or Vertex's `X-Vertex-AI-LLM-Shared-Request-Type`), the settlement the tier
 * the response says ran (the Developer API's `x-gemini-service-tier`, Vertex's `trafficType`).
 */

const ASK = { model: 'gemini-2.5-flash', contents: 'What does tollgate do?' };

/** What the gateway reserves for ASK with this output cap: its bytes as input tokens (an estimate within a few percent). */
function standardEstimate(maxOutputTokens: number): number {
  const bytes = JSON.stringify({ contents: [{ parts: [{ text: ASK.contents }], role: 'user' }], generationConfig: { maxOutputTokens }, serviceTier: 'priority' }).length;
  return expectedNanos({ input_tokens: bytes, output_tokens: maxOutputTokens }, 'gemini-2.5-flash');
}

describe('Gemini Developer API service tiers, with @google/genai', () => {
  let gemini: FakeGeminiApi;
  let harness: Harness;

  beforeAll(async () => {
    gemini = await startFakeGeminiApi();
  });
  beforeEach(async () => {
    gemini.reset();
    harness = await startHarness({
      config: (openaiBaseUrl) => ({ providers: { openai: { baseUrl: openaiBaseUrl }, 'google-gla': { baseUrl: gemini.baseUrl } } }),
      env: { GEMINI_API_KEY: GEMINI_UPSTREAM_KEY },
    });
  });
  afterEach(() => harness.close());
  afterAll(() => gemini.close());

  const client = (key: string) => new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: `${harness.gateway.url}/proxy/google-gla` } });

  /** One generateContent at `tier`, answered as having run at `ran`; its settled charge. */
  async function generate(tier: ServiceTier | undefined, ran?: string): Promise<number> {
    const { key, record } = await harness.issue();
    gemini.serviceTier = ran;
    await client(key).models.generateContent({ ...ASK, ...(tier !== undefined && { config: { serviceTier: tier } }) });
    return settled(harness.store, record.id);
  }

  it('sends the tier as the body\'s serviceTier and charges the tier the response names: priority ×2, flex ×½, standard ×1', async () => {
    // GIVEN the standard price of the recorded answer
    const standard = await generate(undefined);
    expect(standard).toBeGreaterThan(0);

    // WHEN the same request runs at priority, at flex, and at standard by name
    gemini.reset();
    const priority = await generate(ServiceTier.PRIORITY, 'priority');
    const asked = JSON.parse(gemini.requests[0]?.body.toString('utf8') ?? '{}') as Record<string, unknown>;
    const flex = await generate(ServiceTier.FLEX, 'flex');
    const named = await generate(ServiceTier.STANDARD, 'standard');

    // THEN each is charged at its tier, and the SDK's field went upstream as it was sent
    expect(asked['serviceTier']).toBe('priority');
    expect(priority).toBe(standard * 2);
    expect(flex).toBe(Math.ceil(standard / 2));
    expect(named).toBe(standard);
  });

  it('charges the tier that ran: a priority request the API ran at standard (past its priority limit) costs standard', async () => {
    const standard = await generate(undefined);

    const downgraded = await generate(ServiceTier.PRIORITY, 'standard');
    const unanswered = await generate(ServiceTier.PRIORITY);

    expect(downgraded).toBe(standard);
    // A response that names no tier is charged at the one asked for.
    expect(unanswered).toBe(standard * 2);
  });

  it('reserves a priority request at its price: a strict cap that admits it at standard rates refuses it with 402, unforwarded', async () => {
    // GIVEN a key whose cap holds one standard estimate but not a priority one
    const { key } = await harness.issue({ limits: { lifetime: Math.floor(standardEstimate(1000) * 1.5) } });
    const config = { maxOutputTokens: 1000 };

    // WHEN it asks for priority
    const refused = await client(key).models.generateContent({ ...ASK, config: { ...config, serviceTier: ServiceTier.PRIORITY } }).catch((error: unknown) => error);

    // THEN the cap refuses it before anything is sent; the same request at the standard tier goes through
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(402);
    expect(gemini.requests).toHaveLength(0);
    await expect(client(key).models.generateContent({ ...ASK, config: { ...config, serviceTier: ServiceTier.STANDARD } })).resolves.toMatchObject({ text: expect.any(String) });
    expect(gemini.requests).toHaveLength(1);
  });

  it('refuses a tier it has no price for with a 400 in Google\'s error shape naming it, and forwards nothing', async () => {
    const { key } = await harness.issue();

    const refused = await client(key).models.generateContent({ ...ASK, config: { serviceTier: 'turbo' as ServiceTier } }).catch((error: unknown) => error);

    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(400);
    expect(JSON.parse((refused as ApiError).message) as unknown).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT', message: expect.stringContaining('service tier "turbo"') } });
    expect(gemini.requests).toHaveLength(0);
  });

  it('refuses a tier that is not a name, and forwards nothing', async () => {
    const { key } = await harness.issue();

    const refused = await client(key).models.generateContent({ ...ASK, config: { serviceTier: { tier: 'priority' } as unknown as ServiceTier } }).catch((error: unknown) => error);

    expect((refused as ApiError).status).toBe(400);
    expect(gemini.requests).toHaveLength(0);
  });
});

describe('Vertex Gemini service tiers (Priority and Flex PayGo), with @google/genai in Vertex mode', () => {
  let vertex: VertexHarness;
  beforeEach(async () => {
    vertex = await startVertexHarness();
  });
  afterEach(() => vertex.close());

  function client(key: string, headers?: Record<string, string>): GoogleGenAI {
    return new GoogleGenAI({
      vertexai: true,
      project: 'callers-own-project',
      location: 'us-east1',
      apiKey: key,
      httpOptions: { baseUrl: `${vertex.harness.gateway.url}/proxy/google-vertex`, ...(headers && { headers }) },
    });
  }

  async function generate(options: { header?: string; tier?: ServiceTier; ran?: string }): Promise<number> {
    const { key, record } = await vertex.harness.issue();
    vertex.google.trafficType = options.ran;
    const headers = options.header === undefined ? undefined : { 'X-Vertex-AI-LLM-Shared-Request-Type': options.header };
    await client(key, headers).models.generateContent({ ...ASK, ...(options.tier !== undefined && { config: { serviceTier: options.tier } }) });
    return settled(vertex.harness.store, record.id);
  }

  it('charges the traffic type the response names: ON_DEMAND_PRIORITY ×2, ON_DEMAND_FLEX ×½, ON_DEMAND ×1', async () => {
    const standard = await generate({});
    expect(standard).toBeGreaterThan(0);

    const priority = await generate({ header: 'priority', ran: 'ON_DEMAND_PRIORITY' });
    const flex = await generate({ header: 'flex', ran: 'ON_DEMAND_FLEX' });
    const bySdk = await generate({ tier: ServiceTier.PRIORITY, ran: 'ON_DEMAND_PRIORITY' });
    const spilled = await generate({ header: 'priority', ran: 'ON_DEMAND' });

    expect(priority).toBe(standard * 2);
    expect(flex).toBe(Math.ceil(standard / 2));
    expect(bySdk).toBe(standard * 2);
    // The response's tier decides: a priority request Vertex ran as standard PayGo costs standard.
    expect(spilled).toBe(standard);
    expect(vertex.google.requests.map((seen) => seen.headers['x-vertex-ai-llm-shared-request-type'])).toEqual([undefined, 'priority', 'flex', undefined, 'priority']);
  });

  it('charges a streamed answer at the traffic type its chunks name', async () => {
    const { key, record } = await vertex.harness.issue();
    const run = async () => {
      for await (const chunk of await client(key, { 'X-Vertex-AI-LLM-Shared-Request-Type': 'priority' }).models.generateContentStream(ASK)) void chunk;
    };
    vertex.google.trafficType = 'ON_DEMAND';
    await run();
    const standard = await settled(vertex.harness.store, record.id, 1);
    vertex.google.trafficType = 'ON_DEMAND_PRIORITY';

    await run();

    expect((await settled(vertex.harness.store, record.id, 2)) - standard).toBe(standard * 2);
  });

  it('reserves a priority PayGo request at its price: a strict cap that admits it at standard rates refuses it with 402, unforwarded', async () => {
    const { key } = await vertex.harness.issue({ limits: { lifetime: Math.floor(standardEstimate(1000) * 1.5) } });
    const config = { maxOutputTokens: 1000 };

    const refused = await client(key, { 'X-Vertex-AI-LLM-Shared-Request-Type': 'priority' }).models.generateContent({ ...ASK, config }).catch((error: unknown) => error);

    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(402);
    expect(vertex.google.requests).toHaveLength(0);
    await expect(client(key).models.generateContent({ ...ASK, config })).resolves.toMatchObject({ text: expect.any(String) });
    expect(vertex.google.requests).toHaveLength(1);
  });

  it('refuses an unknown tier, and a request naming two different tiers, with 400, forwarding nothing', async () => {
    const unknown = await client(vertex.key, { 'X-Vertex-AI-LLM-Shared-Request-Type': 'turbo' }).models.generateContent(ASK).catch((error: unknown) => error);
    const twice = await client(vertex.key, { 'X-Vertex-AI-LLM-Shared-Request-Type': 'flex' })
      .models.generateContent({ ...ASK, config: { serviceTier: ServiceTier.PRIORITY } })
      .catch((error: unknown) => error);

    expect((unknown as ApiError).status).toBe(400);
    expect((unknown as ApiError).message).toContain('service tier \\"turbo\\"');
    expect((twice as ApiError).status).toBe(400);
    expect((twice as ApiError).message).toContain('more than one service tier');
    expect(vertex.google.requests).toHaveLength(0);
  });
});
