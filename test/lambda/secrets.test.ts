import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseConfig, type ProviderSettings } from '../../lambda/config/config';
import { secretsManagerCredentials } from '../../lambda/config/secrets';
import { startFakeSecretsManager, type FakeSecretsManager } from './support/aws-fakes';

const OPENAI_KEY = 'sk-live-credential-value-0123456789';

/** The openai provider's settings with the given credential source, as the config would resolve it. */
function openai(credential: { secret: string; field?: string } | { env: string }): ProviderSettings {
  return parseConfig({ providers: { openai: { credential } } }, 'test').providers.openai;
}

describe('secretsManagerCredentials, against Secrets Manager on loopback', () => {
  let fake: FakeSecretsManager;
  let client: SecretsManagerClient;
  let now: number;

  beforeAll(async () => {
    fake = await startFakeSecretsManager();
    client = new SecretsManagerClient({
      region: 'us-east-1',
      endpoint: fake.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    client.destroy();
    await fake.close();
  });
  beforeEach(() => {
    fake.calls.length = 0;
    fake.failWith = undefined;
    fake.secrets.clear();
    now = 1_000_000;
  });

  const resolver = (options: { ttlMs?: number; staleIfErrorMs?: number; maxSecrets?: number } = {}) =>
    secretsManagerCredentials({ client, env: { OPENAI_API_KEY: 'from-env' }, clock: () => now, ...options });

  it('reads one field of a JSON secret', async () => {
    // GIVEN
    fake.secrets.set('tollgate/prod/providers', { SecretString: JSON.stringify({ openai: OPENAI_KEY, groq: 'gsk_x' }) });

    // WHEN
    const credential = await resolver()(openai({ secret: 'tollgate/prod/providers', field: 'openai' }));

    // THEN
    expect(credential).toBe(OPENAI_KEY);
    expect(JSON.parse(fake.calls[0]!.body)).toEqual({ SecretId: 'tollgate/prod/providers' });
  });

  it('reads a whole plain-text secret when no field is named, and a JSON object field as JSON', async () => {
    // GIVEN
    fake.secrets.set('plain', { SecretString: OPENAI_KEY });
    fake.secrets.set('vertex', { SecretString: JSON.stringify({ sa: { type: 'service_account', project_id: 'p' } }) });
    const resolve = resolver();

    // THEN
    expect(await resolve(openai({ secret: 'plain' }))).toBe(OPENAI_KEY);
    expect(JSON.parse((await resolve(openai({ secret: 'vertex', field: 'sa' })))!)).toEqual({ type: 'service_account', project_id: 'p' });
  });

  it('treats a field the secret does not have yet as a provider with no credential', async () => {
    // GIVEN the managed secret as deployed: an empty object
    fake.secrets.set('tollgate/prod/providers', { SecretString: '{}' });

    // THEN
    await expect(resolver()(openai({ secret: 'tollgate/prod/providers', field: 'openai' }))).resolves.toBeUndefined();
  });

  it('still reads env sources from the environment', async () => {
    await expect(resolver()(openai({ env: 'OPENAI_API_KEY' }))).resolves.toBe('from-env');
    expect(fake.calls).toHaveLength(0);
  });

  it('asks Secrets Manager once per TTL, however many requests and however concurrent', async () => {
    // GIVEN
    fake.secrets.set('s', { SecretString: JSON.stringify({ openai: OPENAI_KEY }) });
    const resolve = resolver({ ttlMs: 60_000 });
    const settings = openai({ secret: 's', field: 'openai' });

    // WHEN ten requests arrive together, then more within the TTL
    await Promise.all(Array.from({ length: 10 }, () => resolve(settings)));
    now += 59_000;
    await resolve(settings);

    // THEN one call
    expect(fake.calls).toHaveLength(1);

    // WHEN the TTL passes and the secret was rotated
    fake.secrets.set('s', { SecretString: JSON.stringify({ openai: 'sk-rotated' }) });
    now += 2_000;

    // THEN the next request reads the new value
    await expect(resolve(settings)).resolves.toBe('sk-rotated');
    expect(fake.calls).toHaveLength(2);
  });

  it('bridges a Secrets Manager outage with the last good value, for a bounded time', async () => {
    // GIVEN a value read once, then the service failing
    fake.secrets.set('s', { SecretString: JSON.stringify({ openai: OPENAI_KEY }) });
    const resolve = resolver({ ttlMs: 60_000, staleIfErrorMs: 120_000 });
    const settings = openai({ secret: 's', field: 'openai' });
    await resolve(settings);
    fake.failWith = 500;

    // WHEN the TTL has passed but not the stale allowance
    now += 90_000;

    // THEN the last good value is served
    await expect(resolve(settings)).resolves.toBe(OPENAI_KEY);

    // WHEN the outage outlasts TTL + allowance
    now += 100_000;

    // THEN the failure surfaces, naming the secret and never the value
    const failure = resolve(settings);
    await expect(failure).rejects.toThrow(/could not read secret s/);
    await failure.catch((error: Error) => expect(error.message).not.toContain(OPENAI_KEY));
  });

  it('explains a broken secret without quoting it', async () => {
    // GIVEN
    fake.secrets.set('not-json', { SecretString: `${OPENAI_KEY} oops` });
    fake.secrets.set('binary', { SecretBinary: Buffer.from('x').toString('base64') });
    const resolve = resolver();

    // THEN
    const notJson = resolve(openai({ secret: 'not-json', field: 'openai' }));
    await expect(notJson).rejects.toThrow('secret not-json is not a JSON object, so it has no field "openai"');
    await notJson.catch((error: Error) => expect(error.message).not.toContain(OPENAI_KEY));
    await expect(resolve(openai({ secret: 'binary' }))).rejects.toThrow('has no string value');
    await expect(resolve(openai({ secret: 'missing' }))).rejects.toThrow(/could not read secret missing \(ResourceNotFoundException/);
  });

  it('holds at most maxSecrets values, dropping the least recently used', async () => {
    // GIVEN three secrets and room for two
    for (const id of ['a', 'b', 'c']) fake.secrets.set(id, { SecretString: id });
    const resolve = resolver({ maxSecrets: 2 });

    // WHEN a, b, a (a is now the most recent), c (evicts b), then a and b again
    for (const id of ['a', 'b', 'a', 'c', 'a', 'b']) await resolve(openai({ secret: id }));

    // THEN b had to be read twice; a, c once each
    expect(fake.calls.map((call) => (JSON.parse(call.body) as { SecretId: string }).SecretId)).toEqual(['a', 'b', 'c', 'b']);
  });
});
