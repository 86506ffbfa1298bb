import { ConfigError, parseConfig } from '../../lambda/config/config';
import { createRouter } from '../../lambda/core/route';
import { HOSTED_PROVIDER_IDS, PROVIDER_IDS } from '../../lambda/providers';
import { withSecretCredentials } from '../../lib/proxy';

/**
 * Azure OpenAI and generic OpenAI-compatible servers have no host of their own: an account of
 * either exists only where the config names one, with its base URL.
 */
describe('provider kinds with no default host', () => {
  it('leave a config without them as it was: no account, no route, no credential to warn about', () => {
    // WHEN
    const config = parseConfig({}, 'test');

    // THEN
    expect([...config.accounts.keys()].sort()).toEqual([...HOSTED_PROVIDER_IDS].sort());
    expect(HOSTED_PROVIDER_IDS).not.toContain('azure-openai');
    expect(PROVIDER_IDS).toEqual(expect.arrayContaining(['azure-openai', 'openai-compatible', 'google-gla']));
    expect(config.providers['azure-openai']).toBeUndefined();
    expect(config.providers['google-gla'].credential).toEqual({ kind: 'env', name: 'GEMINI_API_KEY' });
    expect(() => createRouter(config).parse('POST', '/proxy/azure-openai/openai/v1/chat/completions')).toThrow('Unknown route "azure-openai"');
  });

  it.each([
    [{ 'azure-openai': {} }, 'providers.azure-openai.baseUrl: required for provider kind azure-openai, which has no default host, e.g. "https://<resource>.openai.azure.com"'],
    [{ vllm: { kind: 'openai-compatible' } }, 'providers.vllm.baseUrl: required for provider kind openai-compatible'],
    [{ t: { kind: 'openai-compatible', baseUrl: 'http://h', options: { pricingProvider: 'togther' } } }, 'providers.t.options.pricingProvider: must be a provider id in genai-prices'],
    // genai-prices finds OpenAI for any id containing "openai": only an exact id is taken.
    [{ t: { kind: 'openai-compatible', baseUrl: 'http://h', options: { pricingProvider: 'my-openai' } } }, 'providers.t.options.pricingProvider: must be a provider id in genai-prices'],
    [{ 'azure-eu': { kind: 'azure-openai', baseUrl: 'https://eu.openai.azure.com' } }, 'providers.azure-eu.credential: required for an account not named after its kind'],
    [{ 'azure-openai': { baseUrl: 'https://x.openai.azure.com', options: { deployments: { chat: 1 } } } }, 'providers.azure-openai.options.deployments.chat'],
  ])('refuses %j naming the field', (providers, message) => {
    expect(() => parseConfig({ providers }, 'tollgate.config.json')).toThrow(ConfigError);
    expect(() => parseConfig({ providers }, 'tollgate.config.json')).toThrow(`tollgate.config.json: ${message}`);
  });

  it('keys an OpenAI-compatible account’s custom prices by the account, or by the genai-prices provider it names', () => {
    const config = parseConfig(
      {
        providers: {
          vllm: { kind: 'openai-compatible', baseUrl: 'http://10.0.0.7:8000/v1' },
          together: { kind: 'openai-compatible', baseUrl: 'https://api.together.xyz/v1', options: { pricingProvider: 'together' } },
          'azure-openai': { baseUrl: 'https://x.openai.azure.com' },
        },
        prices: [
          { provider: 'vllm', model: 'llama', input_mtok: 0.1, output_mtok: 0.2 },
          { provider: 'together', model: 'my-fine-tune', input_mtok: 1, output_mtok: 2 },
          { provider: 'azure-openai', model: 'gpt-4o-ft', input_mtok: 3, output_mtok: 4 },
        ],
      },
      'test',
    );

    expect(config.prices.map((price) => price.pricingId)).toEqual(['account:vllm', 'together', 'azure']);
  });

  it('on AWS, reads the credentials of configured accounts from the stack secret, and adds no account of an unhosted kind', () => {
    const given = { providers: { 'azure-openai': { baseUrl: 'https://x.openai.azure.com' }, vllm: { kind: 'openai-compatible', baseUrl: 'http://h/v1' } } };

    const config = withSecretCredentials(given, 'arn:secret') as { providers: Record<string, { credential?: unknown }> };

    // Bedrock signs with the function's role: it gets no secret field either.
    expect(Object.keys(config.providers).sort()).toEqual(['anthropic', 'azure-openai', 'google-gla', 'google-vertex', 'groq', 'openai', 'vllm']);
    expect(config.providers['azure-openai']?.credential).toEqual({ secret: 'arn:secret', field: 'azure-openai' });
    expect(config.providers['google-gla']?.credential).toEqual({ secret: 'arn:secret', field: 'google-gla' });
    // A server that may need no key gets none it was not given.
    expect(config.providers['vllm']?.credential).toBeUndefined();
    expect(() => parseConfig(withSecretCredentials({}, 'arn:secret'), 'aws')).not.toThrow();
  });
});
