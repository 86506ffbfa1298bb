import { calcPrice, type Usage } from '@pydantic/genai-prices';
import OpenAI from 'openai';
import type { RouteListing } from '../../lambda/core/models-endpoint';
import { formatUsd, usdToNanos } from '../../lambda/pricing/money';
import { startFakeChatUpstream, type ChatRecording, type FakeChatUpstream, type StreamOptionsSupport } from '../support/fake-chat-upstream';
import { fixture } from '../support/fake-openai';
import { startHarness, type Harness } from '../support/harness';
import { expectSpendEverywhere } from '../support/vertex-harness';

const TOGETHER_KEY = 'together-upstream-test-credential';
const MISTRAL_KEY = 'mistral-upstream-test-credential';

const LOCAL_MODEL = 'meta-llama/Llama-3.3-70B-Instruct';
const TOGETHER_MODEL = 'meta-llama/Llama-3.3-70B-Instruct-Turbo';
const MISTRAL_MODEL = 'mistral-small-latest';

/** OpenAI's recorded chat, as a server running `model` answers it (usage: 2006 in, 1920 of them cached, 10 out; streamed 1117, 1024, 9). */
function chatAs(model: string): ChatRecording {
  const as = (name: string) => Buffer.from(fixture(name).toString('utf8').replaceAll('gpt-4o-2024-08-06', model));
  return { json: as('chat.json'), sse: as('chat-stream.sse') };
}

function nanos(usage: Usage, model: string, providerId: string): number {
  const price = calcPrice(usage, model, { providerId });
  if (!price) throw new Error(`no ${providerId} price for ${model}`);
  return usdToNanos(price.total_price);
}

// The local server's own price, from the config: cache reads without a rate of their own are input.
const LOCAL_NANOS = usdToNanos((2006 * 0.2 + 10 * 0.6) / 1e6);
const LOCAL_STREAM_NANOS = usdToNanos((1117 * 0.2 + 9 * 0.6) / 1e6);
const TOGETHER_NANOS = nanos({ input_tokens: 2006, cache_read_tokens: 1920, output_tokens: 10 }, TOGETHER_MODEL, 'together');
const MISTRAL_STREAM_NANOS = nanos({ input_tokens: 1117, cache_read_tokens: 1024, output_tokens: 9 }, MISTRAL_MODEL, 'mistral');

const MESSAGES = [{ role: 'user' as const, content: 'Hi' }];

async function fakeServer(model: string, credential: string | undefined, streamOptions: StreamOptionsSupport): Promise<FakeChatUpstream> {
  return startFakeChatUpstream({
    authorized: (headers) => headers.authorization === (credential === undefined ? undefined : `Bearer ${credential}`),
    routes: { 'POST /v1/chat/completions': chatAs(model), 'GET /v1/models': { json: Buffer.from(`{"object":"list","data":[{"id":"${model}","object":"model"}]}`) } },
    streamOptions,
  });
}

/**
 * Generic OpenAI-compatible accounts: a local server with no key priced from the config, Together
 * priced from genai-prices' Together data, Mistral (which refuses `stream_options`), and a proxy
 * whose name holds "openai" but which names no pricing.
 */
describe('OpenAI-compatible servers through the gateway, with the OpenAI SDK', () => {
  let local: FakeChatUpstream;
  let together: FakeChatUpstream;
  let mistral: FakeChatUpstream;
  let proxy: FakeChatUpstream;
  let harness: Harness;
  let key: string;
  let keyId: string;

  beforeAll(async () => {
    local = await fakeServer(LOCAL_MODEL, undefined, 'honoured');
    together = await fakeServer(TOGETHER_MODEL, TOGETHER_KEY, 'honoured');
    mistral = await fakeServer(MISTRAL_MODEL, MISTRAL_KEY, 'refused');
    proxy = await fakeServer('gpt-4o-2024-08-06', undefined, 'honoured');
  });
  beforeEach(async () => {
    for (const upstream of [local, together, mistral, proxy]) upstream.reset();
    harness = await startHarness({
      config: (openaiBaseUrl) => ({
        providers: {
          openai: { baseUrl: openaiBaseUrl },
          vllm: { kind: 'openai-compatible', baseUrl: `${local.origin}/v1` },
          together: { kind: 'openai-compatible', baseUrl: `${together.origin}/v1`, credential: { env: 'TOGETHER_API_KEY' }, options: { pricingProvider: 'together' } },
          mistral: {
            kind: 'openai-compatible',
            baseUrl: `${mistral.origin}/v1`,
            credential: { env: 'MISTRAL_API_KEY' },
            options: { pricingProvider: 'mistral', includeStreamUsage: false },
          },
          'openai-proxy': { kind: 'openai-compatible', baseUrl: `${proxy.origin}/v1` },
        },
        prices: [{ provider: 'vllm', model: LOCAL_MODEL, input_mtok: 0.2, output_mtok: 0.6 }],
      }),
      env: { TOGETHER_API_KEY: TOGETHER_KEY, MISTRAL_API_KEY: MISTRAL_KEY },
    });
    const issued = await harness.issue();
    key = issued.key;
    keyId = issued.record.id;
  });
  afterEach(async () => {
    await harness.close();
  });
  afterAll(async () => {
    for (const upstream of [local, together, mistral, proxy]) await upstream.close();
  });

  const client = (account: string) => new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/${account}` });

  function expectNoGatewayKey(upstream: FakeChatUpstream): void {
    expect(upstream.requests.length).toBeGreaterThan(0);
    for (const seen of upstream.requests) {
      expect(`${seen.method} ${seen.url}`).toMatch(/^(POST \/v1\/chat\/completions|GET \/v1\/models)$/);
      expect(JSON.stringify(seen.headers)).not.toContain(key);
      expect(seen.body.toString('utf8')).not.toContain(key);
    }
  }

  describe('a local server with no key, priced from the config', () => {
    it('answers, sends no credential, and records the configured price', async () => {
      const { data, response } = await client('vllm').chat.completions.create({ model: LOCAL_MODEL, messages: MESSAGES }).withResponse();

      expect(data.choices[0]?.message.content).toBe('Hello! How can I assist you today?');
      expect(response.headers.get('x-tollgate-cost-usd')).toBe(formatUsd(LOCAL_NANOS));
      expect(response.headers.get('x-tollgate-provider')).toBe('vllm');
      expect(local.requests[0]?.headers.authorization).toBeUndefined();
      expectNoGatewayKey(local);
      expectSpendEverywhere(await harness.waitForSpend((c) => c.length === 12), keyId, LOCAL_NANOS);
    });

    it('streams, asks for the usage chunk, and meters it', async () => {
      const stream = await client('vllm').chat.completions.create({ model: LOCAL_MODEL, messages: MESSAGES, stream: true });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';

      expect(text).toBe('Hello! How can I help — today? 👋');
      expect(JSON.parse(local.requests[0]?.body.toString('utf8') ?? '{}').stream_options).toEqual({ include_usage: true });
      expectNoGatewayKey(local);
      expectSpendEverywhere(await harness.waitForSpend((c) => c.length === 12), keyId, LOCAL_STREAM_NANOS);
    });

    it('refuses a model the config prices only for another account', async () => {
      const failure = await client('openai-proxy').chat.completions.create({ model: LOCAL_MODEL, messages: MESSAGES }).catch((e: unknown) => e);

      expect(failure).toBeInstanceOf(OpenAI.BadRequestError);
      expect(proxy.requests).toHaveLength(0);
    });
  });

  it('prices a Together account from genai-prices’ Together data, with its Bearer key', async () => {
    const { response } = await client('together').chat.completions.create({ model: TOGETHER_MODEL, messages: MESSAGES }).withResponse();

    expect(response.headers.get('x-tollgate-cost-usd')).toBe(formatUsd(TOGETHER_NANOS));
    expect(together.requests[0]?.headers.authorization).toBe(`Bearer ${TOGETHER_KEY}`);
    expectNoGatewayKey(together);
    expectSpendEverywhere(await harness.waitForSpend((c) => c.length === 12), keyId, TOGETHER_NANOS);
  });

  it('leaves stream_options out for a server that refuses it, and meters the usage it streams unasked', async () => {
    const stream = await client('mistral').chat.completions.create({ model: MISTRAL_MODEL, messages: MESSAGES, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';

    expect(text).toBe('Hello! How can I help — today? 👋');
    expect(JSON.parse(mistral.requests[0]?.body.toString('utf8') ?? '{}')).toEqual({ model: MISTRAL_MODEL, messages: MESSAGES, stream: true });
    expect(mistral.requests[0]?.headers.authorization).toBe(`Bearer ${MISTRAL_KEY}`);
    expectNoGatewayKey(mistral);
    expectSpendEverywhere(await harness.waitForSpend((c) => c.length === 12), keyId, MISTRAL_STREAM_NANOS);
  });

  it('never prices an account as the provider its name resembles: "openai-proxy" names no pricing, so gpt-4o is unpriced there', async () => {
    const failure = await client('openai-proxy').chat.completions.create({ model: 'gpt-4o', messages: MESSAGES }).catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(OpenAI.BadRequestError);
    expect((failure as InstanceType<typeof OpenAI.BadRequestError>).message).toContain('Unable to calculate spend for model "gpt-4o" on provider openai-proxy');
    expect(proxy.requests).toHaveLength(0);
  });

  it('lists each account with the models it can price', async () => {
    const response = await fetch(`${harness.gateway.url}/proxy/models`, { headers: { authorization: `Bearer ${key}` } });
    const { routes } = (await response.json()) as { routes: RouteListing[] };

    expect(routes.find((route) => route.route === 'vllm')?.models).toEqual([LOCAL_MODEL]);
    expect(routes.find((route) => route.route === 'openai-proxy')?.models).toEqual([]);
    expect(routes.find((route) => route.route === 'together')?.models).toContain(TOGETHER_MODEL);
  });
});
