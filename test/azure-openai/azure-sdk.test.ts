import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { calcPrice, type Usage } from '@pydantic/genai-prices';
import OpenAI, { AzureOpenAI } from 'openai';
import { formatUsd, usdToNanos } from '../../lambda/pricing/money';
import { startFakeChatUpstream, type FakeChatUpstream } from '../support/fake-chat-upstream';
import { fixture as openaiFixture } from '../support/fake-openai';
import { startHarness, type Harness } from '../support/harness';
import { expectSpendEverywhere } from '../support/vertex-harness';

const AZURE_KEY = 'azure-upstream-test-credential-0123456789abcdef';
const API_VERSION = '2024-10-21';

function azureFixture(name: string): Buffer {
  return readFileSync(join(__dirname, '..', 'fixtures', 'azure-openai', name));
}

function expectedNanos(usage: Usage, model: string): number {
  const price = calcPrice(usage, model, { providerId: 'azure' });
  if (!price) throw new Error(`no Azure price for ${model}`);
  return usdToNanos(price.total_price);
}

// From the recordings by hand, at genai-prices' Azure prices.
const CHAT_NANOS = expectedNanos({ input_tokens: 1290, cache_read_tokens: 1152, output_tokens: 11 }, 'gpt-4o-2024-11-20');
const STREAM_NANOS = expectedNanos({ input_tokens: 2048, cache_read_tokens: 1920, output_tokens: 9 }, 'gpt-4o-2024-11-20');
const RESPONSES_NANOS = expectedNanos({ input_tokens: 36, output_tokens: 87 }, 'gpt-4.1-2025-04-14');
const EMBEDDING_NANOS = expectedNanos({ input_tokens: 8 }, 'text-embedding-3-small');

const MESSAGES = [{ role: 'user' as const, content: 'Hi' }];
const CHAT = { json: azureFixture('chat.json'), sse: azureFixture('chat-stream.sse') };

/** Azure OpenAI through the gateway: `AzureOpenAI` on the deployments API, the plain `OpenAI` client on the v1 API. */
describe('Azure OpenAI through the gateway, with the openai package', () => {
  let azure: FakeChatUpstream;
  let harness: Harness;
  let key: string;
  let keyId: string;

  beforeAll(async () => {
    azure = await startFakeChatUpstream({
      authorized: (headers) => headers['api-key'] === AZURE_KEY,
      routes: {
        'POST /openai/deployments/prod-chat/chat/completions': CHAT,
        'POST /openai/deployments/mystery/chat/completions': CHAT,
        'POST /openai/deployments/prod-embed/embeddings': { json: openaiFixture('embeddings.json') },
        'POST /openai/responses': { json: openaiFixture('responses.json') },
        'POST /openai/v1/chat/completions': CHAT,
        'GET /openai/v1/models': { json: Buffer.from('{"object":"list","data":[{"id":"gpt-4o","object":"model"}]}') },
      },
      // The deployments API needs its version; the v1 API takes none (or `preview`).
      checkQuery: (path, query) => {
        const version = query.get('api-version');
        if (path.startsWith('/openai/v1/')) return version === null || version === 'preview' ? undefined : `api-version ${version} is not supported on the v1 API`;
        return version === API_VERSION ? undefined : 'Missing required query parameter: api-version';
      },
      streamOptions: 'honoured',
    });
  });
  beforeEach(async () => {
    azure.reset();
    harness = await startHarness({
      config: (openaiBaseUrl) => ({
        providers: {
          openai: { baseUrl: openaiBaseUrl },
          'azure-openai': { baseUrl: azure.origin, options: { deployments: { 'prod-chat': 'gpt-4o', 'prod-embed': 'text-embedding-3-small' } } },
        },
        routes: { pool: { members: [{ provider: 'azure-openai', priority: 1 }, { provider: 'openai' }] } },
      }),
      env: { AZURE_OPENAI_API_KEY: AZURE_KEY },
    });
    const issued = await harness.issue();
    key = issued.key;
    keyId = issued.record.id;
  });
  afterEach(async () => {
    await harness.close();
  });
  afterAll(async () => {
    await azure.close();
  });

  /** The documented client, its endpoint the gateway's Azure route; it sends the gateway key as `api-key`. */
  const azureClient = (deployment?: string) =>
    new AzureOpenAI({ apiKey: key, endpoint: `${harness.gateway.url}/proxy/azure-openai`, apiVersion: API_VERSION, ...(deployment && { deployment }) });

  function expectAzureSawItsKeyOnly(): void {
    expect(azure.requests.length).toBeGreaterThan(0);
    for (const seen of azure.requests) {
      expect(seen.headers['api-key']).toBe(AZURE_KEY);
      expect(seen.headers.authorization).toBeUndefined();
      expect(JSON.stringify(seen.headers)).not.toContain(key);
      expect(seen.url).not.toContain(key);
      expect(seen.body.toString('utf8')).not.toContain(key);
    }
    expect(harness.upstream.requests).toHaveLength(0);
  }

  describe('the deployments API, with AzureOpenAI', () => {
    it('answers a chat completion with Azure’s bytes, api-version passed through, and records its cost', async () => {
      // WHEN
      const { data, response } = await azureClient('prod-chat').chat.completions.create({ model: 'gpt-4o', messages: MESSAGES }).withResponse();

      // THEN
      expect(data.choices[0]?.message.content).toBe('Hello from Azure — every token metered.');
      expect(response.headers.get('x-tollgate-cost-usd')).toBe(formatUsd(CHAT_NANOS));
      expect(response.headers.get('x-tollgate-provider')).toBe('azure-openai');
      expect(azure.requests.map((r) => `${r.method} ${r.url}`)).toEqual([`POST /openai/deployments/prod-chat/chat/completions?api-version=${API_VERSION}`]);
      expectAzureSawItsKeyOnly();
      expectSpendEverywhere(await harness.waitForSpend((c) => c.length === 12), keyId, CHAT_NANOS);
    });

    it('streams chunk by chunk (the filter-results chunk included), asks for usage, and meters it', async () => {
      // WHEN
      const stream = await azureClient().chat.completions.create({ model: 'prod-chat', messages: MESSAGES, stream: true });
      let text = '';
      let chunks = 0;
      for await (const chunk of stream) {
        chunks++;
        text += chunk.choices[0]?.delta?.content ?? '';
      }

      // THEN
      expect(text).toBe('Streamed from Azure — chunk by chunk. ☁️');
      expect(chunks).toBe(6);
      expect(azure.requests[0]?.url).toBe(`/openai/deployments/prod-chat/chat/completions?api-version=${API_VERSION}`);
      expect(JSON.parse(azure.requests[0]?.body.toString('utf8') ?? '{}').stream_options).toEqual({ include_usage: true });
      expectAzureSawItsKeyOnly();
      expectSpendEverywhere(await harness.waitForSpend((c) => c.length === 12), keyId, STREAM_NANOS);
    });

    it('prices an unmapped deployment by its name, so one no price knows is refused before anything is sent', async () => {
      const failure = await azureClient().chat.completions.create({ model: 'mystery', messages: MESSAGES }).catch((e: unknown) => e);

      expect(failure).toBeInstanceOf(OpenAI.BadRequestError);
      expect((failure as InstanceType<typeof OpenAI.BadRequestError>).message).toContain('Unable to calculate spend for model "mystery" on provider azure-openai');
      expect(azure.requests).toHaveLength(0);
    });

    it('embeds with a deployment and records its cost', async () => {
      const { response } = await azureClient().embeddings.create({ model: 'prod-embed', input: 'tollgate' }).withResponse();

      expect(response.headers.get('x-tollgate-cost-usd')).toBe(formatUsd(EMBEDDING_NANOS));
      expect(azure.requests[0]?.url).toBe(`/openai/deployments/prod-embed/embeddings?api-version=${API_VERSION}`);
      expectAzureSawItsKeyOnly();
      expectSpendEverywhere(await harness.waitForSpend((c) => c.length === 12), keyId, EMBEDDING_NANOS);
    });

    it('creates a response (model in the body names the deployment) and records its cost', async () => {
      const { data } = await azureClient().responses.create({ model: 'prod-chat', input: 'Hi' }).withResponse();

      expect(data.output_text).toBeTruthy();
      expect(azure.requests[0]?.url).toBe(`/openai/responses?api-version=${API_VERSION}`);
      expectAzureSawItsKeyOnly();
      expectSpendEverywhere(await harness.waitForSpend((c) => c.length === 12), keyId, RESPONSES_NANOS);
    });
  });

  describe('the v1 API', () => {
    it('answers the OpenAI client at <resource>/openai/v1, with no api-version', async () => {
      const client = new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/azure-openai/openai/v1` });

      const { data, response } = await client.chat.completions.create({ model: 'prod-chat', messages: MESSAGES }).withResponse();

      expect(data.choices[0]?.message.content).toBe('Hello from Azure — every token metered.');
      expect(response.headers.get('x-tollgate-cost-usd')).toBe(formatUsd(CHAT_NANOS));
      expect(azure.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /openai/v1/chat/completions']);
      expectAzureSawItsKeyOnly();
    });

    it.each([
      ['the Azure route', 'azure-openai'],
      ['a routing group whose first member is the Azure account', 'pool'],
    ])('serves OpenAI’s own paths on %s as the v1 API', async (_what, route) => {
      const client = new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/${route}` });

      const { response } = await client.chat.completions.create({ model: 'prod-chat', messages: MESSAGES }).withResponse();

      expect(response.headers.get('x-tollgate-provider')).toBe('azure-openai');
      expect(azure.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /openai/v1/chat/completions']);
      expectAzureSawItsKeyOnly();
    });

    it('lists models for free', async () => {
      const client = new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/azure-openai/openai/v1` });

      const models = await client.models.list();

      expect(models.data.map((model) => model.id)).toEqual(['gpt-4o']);
      expectAzureSawItsKeyOnly();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await harness.store.getSpend()).toEqual([]);
    });
  });

  it.each([
    ['a query parameter besides api-version', `/openai/deployments/prod-chat/chat/completions?api-version=${API_VERSION}&api-key=x`],
    ['a stored response (the resource’s, shared by every key)', '/openai/v1/responses/resp_123'],
    ['files', '/openai/files'],
    ['a deployment-scoped path Azure does not have', '/openai/deployments/prod-chat/responses'],
  ])('refuses %s, and forwards nothing', async (_what, path) => {
    const response = await fetch(`${harness.gateway.url}/proxy/azure-openai${path}`, {
      method: 'POST',
      headers: { 'api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'prod-chat', messages: MESSAGES }),
    });

    expect([400, 404]).toContain(response.status);
    expect(typeof ((await response.json()) as { error: { message: unknown } }).error.message).toBe('string');
    expect(azure.requests).toHaveLength(0);
  });
});
