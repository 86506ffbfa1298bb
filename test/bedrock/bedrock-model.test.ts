import { calcPrice } from '@pydantic/genai-prices';
import { Agent } from 'undici';
import { parseConfig, ConfigError } from '../../lambda/config/config';
import { budgetRequest } from '../../lambda/limits/budget';
import { Pricer } from '../../lambda/pricing/pricer';
import { bedrockFormat } from '../../lambda/formats/bedrock';
import { pricingModel } from '../../lambda/formats/bedrock-model';
import { bedrock } from '../../lambda/providers/bedrock';
import type { UpstreamDraft } from '../../lambda/providers/types';

function inputPrice(model: string): number | undefined {
  return calcPrice({ input_tokens: 1_000_000, output_tokens: 0 }, model, { providerId: 'aws' })?.total_price;
}

describe('the model a Bedrock path is priced as', () => {
  it.each([
    ['a foundation model', 'anthropic.claude-3-5-sonnet-20240620-v1:0', 'anthropic.claude-3-5-sonnet-20240620-v1:0'],
    ['a regional inference profile genai-prices knows', 'apac.anthropic.claude-3-5-sonnet-20240620-v1:0', 'apac.anthropic.claude-3-5-sonnet-20240620-v1:0'],
    ['a foundation-model ARN', 'arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0', 'amazon.nova-pro-v1:0'],
    ['an inference-profile ARN', 'arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.amazon.nova-pro-v1:0', 'eu.amazon.nova-pro-v1:0'],
    // Opaque ids: only a custom price naming the whole ARN can price them.
    ['an application inference profile', 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6', 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6'],
    ['an unknown model', 'acme.mystery-v1:0', 'acme.mystery-v1:0'],
  ])('%s', (_what, modelId, priced) => {
    expect(pricingModel(modelId)).toBe(priced);
  });

  it('keeps a global profile id, which genai-prices prices apart from the regional model', () => {
    const global = 'global.anthropic.claude-sonnet-4-5-20250929-v1:0';

    expect(pricingModel(global)).toBe(global);
    expect(inputPrice(global)).not.toBe(inputPrice('anthropic.claude-sonnet-4-5-20250929-v1:0'));
  });

  it('falls back to the bare model for a profile prefix genai-prices does not list', () => {
    // The price data lists this model's us/au/… profiles by name, but not eu's.
    expect(inputPrice('eu.anthropic.claude-fable-5-1-v1:0')).toBeUndefined();

    expect(pricingModel('eu.anthropic.claude-fable-5-1-v1:0')).toBe('anthropic.claude-fable-5-1-v1:0');
  });

  it('reads the model from the percent-encoded path the SDK sends', () => {
    const path = `/model/${encodeURIComponent('us.amazon.nova-pro-v1:0')}/converse`;

    expect(bedrockFormat.classify('POST', path)).toEqual({ kind: 'metered', name: 'converse' });
    expect(bedrockFormat.prepare('converse', { providerPath: path, query: '', body: {} })).toEqual({ model: 'us.amazon.nova-pro-v1:0' });
  });

  it('classifies only the model operations it can meter or knows to be free', () => {
    expect(bedrockFormat.classify('POST', '/model/m/count-tokens')).toEqual({ kind: 'free' });
    expect(bedrockFormat.classify('POST', '/model/m/invoke-with-bidirectional-stream')).toBeUndefined();
    expect(bedrockFormat.classify('GET', '/model/m/converse')).toBeUndefined();
    expect(bedrockFormat.classify('POST', '/async-invoke')).toBeUndefined();
    expect(bedrockFormat.classify('POST', '/model/m/constructor')).toBeUndefined();
  });

  it.each([
    ['converse', { inferenceConfig: { maxTokens: 512 } }, 512],
    ['converse-stream', { messages: [] }, undefined],
    ['invoke', { anthropic_version: 'bedrock-2023-05-31', max_tokens: 1024 }, 1024],
    ['invoke-stream', { prompt: 'Hi', max_gen_len: 300 }, 300],
    ['invoke', { inferenceConfig: { max_new_tokens: 200 } }, 200],
  ])('reads the output cap a %s request sets', (operation, body, cap) => {
    expect(bedrockFormat.maxOutputTokens?.(operation, { providerPath: '/model/m/x', query: '', body })).toBe(cap);
  });

  it('clamps usage to a Converse cap, which Bedrock enforces, but not to an InvokeModel field, which only some vendors honour', () => {
    const view = (body: Record<string, unknown>) => ({ providerPath: '/model/m/x', query: '', body });
    const budget = (operation: string, body: Record<string, unknown>) =>
      budgetRequest({ format: bedrockFormat, operation, view: view(body), pricer: new Pricer(), pricingId: 'aws', model: 'amazon.nova-pro-v1:0', inputBytes: 10, defaultMaxOutputTokens: 4096 });

    expect(budget('converse', { inferenceConfig: { maxTokens: 100 } }).outputBound).toBe(100);
    expect(budget('invoke', { max_gen_len: 100 }).outputBound).toBeUndefined();
  });

  it('lets a cap among the model’s own Converse fields raise the bound, never make one', () => {
    const view = (body: Record<string, unknown>) => ({ providerPath: '/model/m/x', query: '', body });
    const budget = (body: Record<string, unknown>) =>
      budgetRequest({ format: bedrockFormat, operation: 'converse', view: view(body), pricer: new Pricer(), pricingId: 'aws', model: 'amazon.nova-pro-v1:0', inputBytes: 10, defaultMaxOutputTokens: 4096 });

    // A request reserving one token of output cannot have usage of 64,000 cut to that one token.
    expect(budget({ inferenceConfig: { maxTokens: 1 }, additionalModelRequestFields: { max_tokens: 64_000 } }).outputBound).toBe(64_000);
    expect(budget({ inferenceConfig: { maxTokens: 100 }, additionalModelRequestFields: { top_k: 5 } }).outputBound).toBe(100);
    // Alone, the vendor's field may be ignored, and Bedrock's default then applies: no bound to cut usage to.
    expect(budget({ additionalModelRequestFields: { max_tokens: 10 } }).outputBound).toBeUndefined();
    expect(() => budget({ inferenceConfig: { maxTokens: 100 }, additionalModelRequestFields: { max_tokens: '64000' } })).toThrow(/additionalModelRequestFields\.max_tokens/);
  });

  it('maps any spelling of the model id to the one Bedrock expects', () => {
    expect(bedrock.upstreamPath?.('/model/anthropic.claude-v2:1/invoke', {})).toBe('/model/anthropic.claude-v2%3A1/invoke');
    expect(bedrock.upstreamPath?.('/model/anthropic.claude-v2%3a1/invoke', {})).toBe('/model/anthropic.claude-v2%3A1/invoke');
  });
});

describe('Bedrock configuration', () => {
  it('defaults the base URL to the configured region’s endpoint', () => {
    const config = parseConfig({ providers: { bedrock: { options: { region: 'eu-west-1' } } } }, 'test');

    expect(config.providers.bedrock.baseUrl.href).toBe('https://bedrock-runtime.eu-west-1.amazonaws.com/');
    expect(parseConfig({}, 'test').providers.bedrock.baseUrl.href).toBe('https://bedrock-runtime.us-east-1.amazonaws.com/');
  });

  it('names the field when the region is not one', () => {
    expect(() => parseConfig({ providers: { bedrock: { options: { region: 'Frankfurt' } } } }, 'test')).toThrow(
      new ConfigError('test: providers.bedrock.options.region: must be an AWS region such as us-east-1'),
    );
  });

  it.each([
    ['the configured region', 'https://bedrock-runtime.eu-central-1.amazonaws.com', { region: 'ap-south-1' }, 'ap-south-1'],
    ['the region in a regional base URL', 'https://bedrock-runtime.eu-central-1.amazonaws.com', {}, 'eu-central-1'],
    ['us-east-1 behind any other base URL', 'https://bedrock.proxy.internal', {}, 'us-east-1'],
  ])('signs for %s', async (_what, base, options, region) => {
    const url = new URL(`${base}/model/amazon.nova-pro-v1%3A0/converse`);
    const draft: UpstreamDraft = {
      method: 'POST',
      url,
      origin: url.origin,
      target: url.pathname,
      headers: { 'content-type': 'application/json', 'content-length': '2' },
      body: Buffer.from('{}'),
    };
    const dispatcher = new Agent();

    const auth = await bedrock.authorize(draft, {
      credential: '{"accessKeyId":"AKIAUNITTEST00000001","secretAccessKey":"secret"}',
      options,
      dispatcher,
      now: () => new Date('2025-01-02T03:04:05Z'),
      env: {},
    });
    await dispatcher.close();

    expect(auth['authorization']).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=AKIAUNITTEST00000001/20250102/${region}/bedrock/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$`));
    expect(auth['x-amz-date']).toBe('20250102T030405Z');
  });
});
