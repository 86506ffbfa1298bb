import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../../lambda/config/config';

describe('config', () => {
  it('defaults to the real OpenAI API and OPENAI_API_KEY when there is no file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-config-'));
    try {
      const config = loadConfig({}, dir);

      expect(config.providers.openai.baseUrl.href).toBe('https://api.openai.com/v1');
      expect(config.providers.openai.credential).toEqual({ kind: 'env', name: 'OPENAI_API_KEY' });
      expect(config.providers.openai.unpriced).toEqual({ kind: 'reject' });
      expect(config.limits).toEqual({ defaultMaxOutputTokens: 4096, reservationTtlSeconds: 1200, keyCacheTtlMs: 5000, maxConcurrentPerKey: 64 });
      expect(config.prices).toEqual([]);
      expect(config.routing).toEqual({ circuitBreakerFailures: 5, circuitBreakerCooldownMs: 30_000 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the file named by TOLLGATE_CONFIG, with overrides and custom prices', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-config-'));
    try {
      const file = join(dir, 'custom.json');
      writeFileSync(
        file,
        JSON.stringify({
          providers: { openai: { format: 'openai', baseUrl: 'http://10.0.0.5:8080/v1/', credential: { env: 'MY_KEY' }, allowUnpriced: true } },
          prices: [{ provider: 'openai', model: 'ft:x', input_mtok: 0.3, output_mtok: 1.2 }],
          routing: { circuitBreakerCooldownMs: 5_000 },
        }),
      );

      const config = loadConfig({ TOLLGATE_CONFIG: file }, '/');

      expect(config.providers.openai.baseUrl.href).toBe('http://10.0.0.5:8080/v1/');
      expect(config.providers.openai.credential).toEqual({ kind: 'env', name: 'MY_KEY' });
      expect(config.providers.openai.unpriced).toEqual({ kind: 'allow' });
      expect(config.prices).toEqual([{ pricingId: 'openai', model: 'ft:x', prices: { input_mtok: 0.3, output_mtok: 1.2 } }]);
      expect(config.routing).toEqual({ circuitBreakerFailures: 5, circuitBreakerCooldownMs: 5_000 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [{ providers: { openai: { baseUrl: 'not a url' } } }, 'providers.openai.baseUrl: must be an http(s) URL'],
    [{ providers: { openai: { baseUrl: 'file:///etc/passwd' } } }, 'providers.openai.baseUrl: must be an http(s) URL'],
    [{ providers: { openai: { baseUrl: 'https://api.openai.com/v1?x=1' } } }, 'providers.openai.baseUrl: must not have a query'],
    [{ providers: { openai: { format: 'anthropic' } } }, 'providers.openai.format: provider openai speaks "openai"'],
    [{ providers: { openai: { credential: { env: '' } } } }, 'providers.openai.credential.env'],
    [{ providers: { mystery: {} } }, 'providers.mystery.kind: required for an account not named after its provider kind'],
    [{ providers: { 'openai-eu': { kind: 'openai' } } }, 'providers.openai-eu.credential: required for an account not named after its kind'],
    [{ providers: { Bad_Name: { kind: 'openai', credential: { env: 'X' } } } }, 'providers.Bad_Name: an account name is lower-case'],
    [{ providers: { 'openai-eu': { kind: 'openai', credential: { env: 'X' }, format: 'gemini' } } }, 'providers.openai-eu.format: provider openai speaks "openai", not "gemini"'],
    [{ routes: { pool: { members: [{ provider: 'nope' }] } } }, 'routes.pool.members.0.provider: no account named "nope"'],
    // Not OpenAI and Anthropic: Anthropic serves OpenAI's chat format too (at /v1/chat/completions).
    [{ routes: { pool: { members: [{ provider: 'groq' }, { provider: 'anthropic' }] } } }, 'routes.pool.members: the members share no API format'],
    [{ routes: { pool: { members: [{ provider: 'openai' }, { provider: 'openai' }] } } }, 'routes.pool.members: "openai" is listed twice'],
    [{ routes: { pool: { members: [{ provider: 'openai', models: [{ match: '(', to: 'x' }] }] } } }, 'routes.pool.members.0.models.0.match: not a regular expression'],
    [{ routes: { pool: { members: [] } } }, 'routes.pool.members'],
    [{ prices: [{ provider: 'nobody', model: 'm', input_mtok: 1, output_mtok: 1 }] }, 'prices.0.provider: "nobody" is neither a provider kind nor a configured account'],
    [{ providers: { openai: { baseURL: 'https://x' } } }, 'providers.openai.baseURL: unknown field'],
    [{ prices: [{ provider: 'openai', model: 'm', input_mtok: -1, output_mtok: 1 }] }, 'prices.0.input_mtok'],
    [{ prices: [{ provider: 'openai', model: 'm', input_mtok: 1 }] }, 'prices.0.output_mtok'],
    [{ prices: [{ provider: 'openai', model: 'm'.repeat(513), input_mtok: 1, output_mtok: 1 }] }, 'prices.0.model'],
    [{ routing: { circuitBreakerFailures: 0 } }, 'routing.circuitBreakerFailures'],
    [{ routing: { breakerFailures: 3 } }, 'routing.breakerFailures: unknown field'],
  ])('names the field at fault: %j', (raw, message) => {
    expect(() => parseConfig(raw, 'tollgate.config.json')).toThrow(ConfigError);
    expect(() => parseConfig(raw, 'tollgate.config.json')).toThrow(`tollgate.config.json: ${message}`);
  });

  it('reports a file that is not JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-config-'));
    try {
      writeFileSync(join(dir, 'tollgate.config.json'), '{ "providers": ');

      expect(() => loadConfig({}, dir)).toThrow(/tollgate\.config\.json: .*JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
