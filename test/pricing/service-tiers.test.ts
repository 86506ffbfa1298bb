import Anthropic from '@anthropic-ai/sdk';
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand, InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime';
import OpenAI from 'openai';
import { ConfigError, parseConfig } from '../../lambda/config/config';
import { expectedNanos, startBedrockHarness, type BedrockHarness } from '../support/bedrock-harness';
import { ANTHROPIC_UPSTREAM_KEY, startFakeAnthropic, type FakeAnthropic } from '../support/fake-anthropic';
import { startHarness, type Harness } from '../support/harness';
import { CHAT, estimateFor } from '../limits/support';
import { settledSpend as settled } from '../support/settled-spend';

/**
 * Service tiers billed above (or below) the standard rates genai-prices holds: the reservation
 * prices the tier asked for, the settlement the tier the response says ran.
 */

const asTier = (tier: string) => (recorded: string) => recorded.replaceAll(/"service_tier": ?"default"/g, `"service_tier":"${tier}"`);

describe('OpenAI service tiers, with the openai SDK', () => {
  let harness: Harness;
  beforeEach(async () => {
    harness = await startHarness();
  });
  afterEach(() => harness.close());

  async function chat(body: OpenAI.ChatCompletionCreateParamsNonStreaming, respondAs?: string): Promise<{ nanos: number; status: number }> {
    const { key, record } = await harness.issue();
    harness.upstream.behaviour = respondAs ? { rewrite: asTier(respondAs) } : {};
    const client = new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/openai`, maxRetries: 0 });
    const response = await client.chat.completions.create(body).asResponse();
    await response.text();
    return { nanos: await settled(harness.store, record.id), status: response.status };
  }

  it('charges the tier the response names: priority ×2, flex ×½, default ×1', async () => {
    // GIVEN a request at the standard tier, for the standard price
    const { nanos: standard } = await chat(CHAT);
    expect(standard).toBeGreaterThan(0);

    // WHEN the same request runs at priority, at flex, and at priority though it named no tier (a project's default)
    const priority = await chat({ ...CHAT, service_tier: 'priority' }, 'priority');
    const flex = await chat({ ...CHAT, service_tier: 'flex' }, 'flex');
    const unasked = await chat(CHAT, 'priority');
    const asked = JSON.parse(harness.upstream.requests[1]?.body.toString('utf8') ?? '{}') as Record<string, unknown>;

    // THEN each is charged at its tier, and the tier went upstream as asked
    expect(priority.nanos).toBe(standard * 2);
    expect(flex.nanos).toBe(Math.ceil(standard / 2));
    expect(unasked.nanos).toBe(standard * 2);
    expect(asked['service_tier']).toBe('priority');
  });

  it('charges a streamed chat at the tier its usage chunk names', async () => {
    const { key, record } = await harness.issue();
    const client = new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/openai`, maxRetries: 0 });
    const run = async (tier?: 'priority') => {
      const stream = await client.chat.completions.create({ ...CHAT, stream: true, ...(tier && { service_tier: tier }) });
      for await (const chunk of stream) void chunk;
    };
    await run();
    const standard = await settled(harness.store, record.id, 1);
    harness.upstream.behaviour = { rewrite: asTier('priority') };

    await run('priority');

    expect((await settled(harness.store, record.id, 2)) - standard).toBe(standard * 2);
  });

  it('reserves a priority request at its price: a strict cap that admits it at standard rates refuses it, unforwarded', async () => {
    // GIVEN a key whose cap holds one standard estimate but not a priority one
    const priorityBody = { ...CHAT, service_tier: 'priority' as const };
    const standardEstimate = estimateFor(JSON.stringify(priorityBody));
    const { key } = await harness.issue({ limits: { lifetime: Math.floor(standardEstimate * 1.5) } });
    const client = new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/openai`, maxRetries: 0 });

    // WHEN it asks for priority
    const refused = await client.chat.completions.create(priorityBody).catch((error: unknown) => error);

    // THEN the cap refuses it before anything is sent; the same request at the standard tier goes through
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
    expect(harness.upstream.requests).toHaveLength(0);
    await expect(client.chat.completions.create({ ...priorityBody, service_tier: 'default' })).resolves.toMatchObject({ object: 'chat.completion' });
  });

  it('refuses a tier it has no price for with a 400 naming it, and forwards nothing', async () => {
    const { key } = await harness.issue();
    const client = new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/openai`, maxRetries: 0 });

    const refused = await client.chat.completions.create({ ...CHAT, service_tier: 'turbo' as 'auto' }).catch((error: unknown) => error);

    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as InstanceType<typeof OpenAI.BadRequestError>).message).toContain('service tier "turbo"');
    expect((refused as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('unpriced_tier');
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('refuses a service tier that is not a name', async () => {
    const { key } = await harness.issue();
    const client = new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/openai`, maxRetries: 0 });

    const refused = await client.chat.completions.create({ ...CHAT, service_tier: { tier: 'priority' } as unknown as 'auto' }).catch((error: unknown) => error);

    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect(harness.upstream.requests).toHaveLength(0);
  });
});

describe("an account's own tier prices", () => {
  let harness: Harness;
  beforeEach(async () => {
    harness = await startHarness({
      config: (baseUrl) => ({ providers: { openai: { baseUrl, tiers: { priority: 1.75, turbo: 3 } } } }),
    });
  });
  afterEach(() => harness.close());

  it('replace the documented ones, and price a tier the gateway does not know', async () => {
    const { key, record } = await harness.issue();
    const client = new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/openai`, maxRetries: 0 });
    await client.chat.completions.create(CHAT);
    const standard = await settled(harness.store, record.id, 1);

    harness.upstream.behaviour = { rewrite: asTier('priority') };
    await client.chat.completions.create({ ...CHAT, service_tier: 'priority' });
    const afterPriority = await settled(harness.store, record.id, 2);
    harness.upstream.behaviour = { rewrite: asTier('turbo') };
    await client.chat.completions.create({ ...CHAT, service_tier: 'turbo' as 'auto' });

    expect(afterPriority - standard).toBe(Math.ceil(standard * 1.75));
    expect((await settled(harness.store, record.id, 3)) - afterPriority).toBe(standard * 3);
  });

  it('are checked when the config is read', () => {
    expect(() => parseConfig({ providers: { openai: { tiers: { priority: -1 } } } }, 't')).toThrow(ConfigError);
    expect(() => parseConfig({ providers: { openai: { tiers: { priority: 1.00001 } } } }, 't')).toThrow(/providers\.openai\.tiers\.priority/);
  });
});

describe('Anthropic service tiers, with @anthropic-ai/sdk', () => {
  let harness: Harness;
  let upstream: FakeAnthropic;
  beforeEach(async () => {
    upstream = await startFakeAnthropic();
    harness = await startHarness({
      config: () => ({ providers: { anthropic: { baseUrl: upstream.baseUrl }, 'anthropic-contract': { kind: 'anthropic', baseUrl: upstream.baseUrl, credential: { env: 'ANTHROPIC_API_KEY' }, tiers: { priority: 1.5 } } } }),
      env: { ANTHROPIC_API_KEY: ANTHROPIC_UPSTREAM_KEY },
    });
  });
  afterEach(async () => {
    await harness.close();
    await upstream.close();
  });

  const priority = (recorded: string) => recorded.replaceAll('"service_tier":"standard"', '"service_tier":"priority"');
  const MESSAGE = { model: 'claude-sonnet-4-20250514', max_tokens: 1024, messages: [{ role: 'user' as const, content: 'Hi' }] };

  it('charges usage.service_tier: priority ×2 (documents and streams), or the account\'s contract price', async () => {
    const { key, record } = await harness.issue();
    const client = (route: string) => new Anthropic({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/${route}`, maxRetries: 0 });
    await client('anthropic').messages.create(MESSAGE);
    const standard = await settled(harness.store, record.id, 1);
    await client('anthropic').messages.stream(MESSAGE).finalMessage();
    const standardStream = (await settled(harness.store, record.id, 2)) - standard;

    upstream.behaviour = { rewrite: priority };
    await client('anthropic').messages.create({ ...MESSAGE, service_tier: 'auto' });
    const one = await settled(harness.store, record.id, 3);
    await client('anthropic').messages.stream({ ...MESSAGE, service_tier: 'auto' }).finalMessage();
    const two = await settled(harness.store, record.id, 4);
    await client('anthropic-contract').messages.create(MESSAGE);
    const three = await settled(harness.store, record.id, 5);

    expect(one - standard - standardStream).toBe(standard * 2);
    expect(two - one).toBe(standardStream * 2);
    expect(three - two).toBe(Math.ceil(standard * 1.5));
  });
});

describe('Bedrock service tiers, with @aws-sdk/client-bedrock-runtime', () => {
  const NOVA_PROFILE = 'us.amazon.nova-pro-v1:0';
  const SONNET = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
  const MESSAGES = [{ role: 'user' as const, content: [{ text: 'Hi' }] }];
  const CONVERSE_NANOS = expectedNanos({ input_tokens: 12 + 1024 + 1024, cache_read_tokens: 1024, cache_write_tokens: 1024, output_tokens: 10 }, NOVA_PROFILE);
  const INVOKE_NANOS = expectedNanos({ input_tokens: 15 + 300 + 1200, cache_read_tokens: 300, cache_write_tokens: 1200, output_tokens: 12 }, SONNET);
  const ANTHROPIC_BODY = JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 256, messages: [{ role: 'user', content: 'Hi' }] });
  let harness: BedrockHarness;
  let client: BedrockRuntimeClient;
  let keyId: string;
  beforeEach(async () => {
    harness = await startBedrockHarness();
    const issued = await harness.issue();
    keyId = issued.record.id;
    client = new BedrockRuntimeClient({ endpoint: `${harness.gateway.url}/proxy/bedrock`, region: 'us-east-1', token: { token: issued.key }, authSchemePreference: ['httpBearerAuth'] });
  });
  afterEach(async () => {
    client.destroy();
    await harness.close();
  });

  it('converse: charges the tier and latency the response names', async () => {
    await client.send(new ConverseCommand({ modelId: NOVA_PROFILE, messages: MESSAGES, serviceTier: { type: 'priority' } }));
    const priority = await settled(harness.store, keyId, 1);
    await client.send(new ConverseCommand({ modelId: NOVA_PROFILE, messages: MESSAGES, performanceConfig: { latency: 'optimized' } }));
    const optimized = (await settled(harness.store, keyId, 2)) - priority;
    await client.send(new ConverseCommand({ modelId: NOVA_PROFILE, messages: MESSAGES, serviceTier: { type: 'default' } }));
    const standard = (await settled(harness.store, keyId, 3)) - priority - optimized;

    expect(priority).toBe(CONVERSE_NANOS * 2);
    expect(optimized).toBe(CONVERSE_NANOS * 2);
    expect(standard).toBe(CONVERSE_NANOS);
    expect(JSON.parse(harness.upstream.requests[0]?.body.toString('utf8') ?? '{}')).toMatchObject({ serviceTier: { type: 'priority' } });
  });

  it('invoke: charges the tier in its headers', async () => {
    await client.send(new InvokeModelCommand({ modelId: SONNET, body: ANTHROPIC_BODY, contentType: 'application/json', performanceConfigLatency: 'optimized' }));

    expect(await settled(harness.store, keyId, 1)).toBe(INVOKE_NANOS * 2);
    expect(harness.upstream.requests[0]?.headers['x-amzn-bedrock-performanceconfig-latency']).toBe('optimized');
  });

  it("Claude through the Anthropic API on Bedrock: charges the tier Bedrock's header asks for", async () => {
    const US_SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
    const { key, record } = await harness.issue();
    const claude = new Anthropic({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/bedrock`, maxRetries: 0 });

    await claude.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 256, messages: [{ role: 'user', content: 'Hi' }] }, { headers: { 'X-Amzn-Bedrock-Service-Tier': 'priority' } });

    expect(await settled(harness.store, record.id, 1)).toBe(expectedNanos({ input_tokens: 15 + 300 + 1200, cache_read_tokens: 300, cache_write_tokens: 1200, output_tokens: 12 }, US_SONNET) * 2);
    expect(harness.upstream.requests[0]?.headers['x-amzn-bedrock-service-tier']).toBe('priority');
  });

  it('refuses a tier it has no price for, in Bedrock\'s error shape, and forwards nothing', async () => {
    const refused = await client
      .send(new ConverseStreamCommand({ modelId: NOVA_PROFILE, messages: MESSAGES, serviceTier: { type: 'turbo' as 'priority' } }))
      .catch((error: unknown) => error);

    expect(refused).toMatchObject({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
    expect((refused as Error).message).toContain('service tier "turbo"');
    expect(harness.upstream.requests).toHaveLength(0);
  });
});
