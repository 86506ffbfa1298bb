import OpenAI from 'openai';
import { startFakeOpenAI, UPSTREAM_KEY, type FakeOpenAI } from '../support/fake-openai';
import { startHarness, type Harness } from '../support/harness';

const EU_KEY = 'sk-upstream-eu-account';

/** Two OpenAI accounts side by side: the default one and one the operator added by name. */
describe('named provider accounts', () => {
  let harness: Harness;
  let eu: FakeOpenAI;

  beforeAll(async () => {
    eu = await startFakeOpenAI({ key: EU_KEY });
    harness = await startHarness({
      config: (openaiBaseUrl) => ({
        providers: {
          openai: { baseUrl: openaiBaseUrl },
          'openai-eu': { kind: 'openai', baseUrl: eu.baseUrl, credential: { env: 'OPENAI_EU_KEY' } },
        },
        routes: { pool: { members: [{ provider: 'openai-eu' }] } },
      }),
      env: { OPENAI_EU_KEY: EU_KEY },
    });
  });

  afterEach(() => {
    harness.upstream.reset();
    eu.reset();
  });

  afterAll(async () => {
    await harness.close();
    await eu.close();
  });

  function client(secret: string, route: string): OpenAI {
    return new OpenAI({ apiKey: secret, baseURL: `${harness.gateway.url}/proxy/${route}` });
  }

  it.each([
    ['the account by its own name', 'openai-eu'],
    ['a routing group of it', 'pool'],
  ])('reaches %s with that account’s credential, and says which account served', async (_what, route) => {
    const { key: secret } = await harness.issue();

    const { data, response } = await client(secret, route).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).withResponse();

    expect(data.choices[0]?.message.content).toBeTruthy();
    expect(response.headers.get('x-tollgate-provider')).toBe('openai-eu');
    expect(eu.requests).toHaveLength(1);
    expect(eu.requests[0]?.headers.authorization).toBe(`Bearer ${EU_KEY}`);
    expect(JSON.stringify(eu.requests[0]?.headers)).not.toContain(secret);
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('keeps the kind’s own name and aliases on the default account', async () => {
    const { key: secret } = await harness.issue();

    const { response } = await client(secret, 'chat').chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).withResponse();

    expect(response.headers.get('x-tollgate-provider')).toBe('openai');
    expect(harness.upstream.requests[0]?.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(eu.requests).toHaveLength(0);
  });

  it('lists the added account and the group in /proxy/models', async () => {
    const { key: secret } = await harness.issue();

    const response = await fetch(`${harness.gateway.url}/proxy/models`, { headers: { authorization: `Bearer ${secret}` } });
    const body = (await response.json()) as { routes: { route: string; aliases: string[]; members: string[]; models: string[] }[] };

    const pool = body.routes.find((route) => route.route === 'pool');
    expect(pool?.members).toEqual(['openai-eu']);
    expect(pool?.aliases).toContain('openai-eu');
    expect(pool?.models).toContain('gpt-4o');
    expect(body.routes.find((route) => route.route === 'openai')?.aliases).toEqual(expect.arrayContaining(['chat', 'responses']));
  });
});
