import { calcPrice } from '@pydantic/genai-prices';
import type { RouteListing } from '../../lambda/core/models-endpoint';
import { startHarness, type Harness } from '../support/harness';

describe('GET /proxy/models', () => {
  let harness: Harness;
  let key: string;

  beforeEach(async () => {
    harness = await startHarness({
      config: (baseUrl) => ({
        providers: { openai: { baseUrl } },
        prices: [{ provider: 'openai', model: 'ft:gpt-4o-mini:acme::x1', input_mtok: 1, output_mtok: 2 }],
      }),
      env: { GROQ_API_KEY: 'gsk-test' },
    });
    key = (await harness.issue()).key;
  });
  afterEach(async () => {
    await harness.close();
  });

  it('lists the routes with a credential, each with the models it can price', async () => {
    const response = await fetch(`${harness.gateway.url}/proxy/models`, { headers: { authorization: `Bearer ${key}` } });
    const { routes } = (await response.json()) as { routes: RouteListing[] };

    expect(response.status).toBe(200);
    // Anthropic and Vertex have no credential here; Bedrock can fall back to the AWS credential chain.
    expect(routes.map((r) => r.route)).toEqual(['openai', 'groq', 'bedrock']);
    const openai = routes.find((r) => r.route === 'openai');
    expect(openai?.aliases).toEqual(['chat', 'openai-chat', 'responses', 'openai-responses']);
    expect(openai?.models).toEqual(expect.arrayContaining(['gpt-4o', 'text-embedding-3-small', 'ft:gpt-4o-mini:acme::x1']));
    for (const model of openai?.models.filter((m) => !m.startsWith('ft:')) ?? []) {
      expect(calcPrice({ input_tokens: 1, output_tokens: 1 }, model, { providerId: 'openai' })).not.toBeNull();
    }
    expect(routes.find((r) => r.route === 'groq')?.models.length).toBeGreaterThan(0);
  });

  it('needs a gateway key', async () => {
    const response = await fetch(`${harness.gateway.url}/proxy/models`);

    expect(response.status).toBe(401);
    expect(harness.upstream.requests).toHaveLength(0);
  });
});
