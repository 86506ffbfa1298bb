import { sealingContext } from '../../lambda/config/credentials';
import { localSecretKey, sealCredential, type SecretKey } from '../../lambda/config/sealed-credentials';
import type { ProjectAccountRecord, Store } from '../../lambda/store/port';
import { openSqliteStore } from '../../lambda/store/sqlite';
import { UPSTREAM_KEY } from '../support/fake-openai';
import { startHarness, type Harness } from '../support/harness';
import { recordingLogger } from '../support/recording-logger';

const SECRET_KEY = Buffer.alloc(32, 9).toString('base64');
const CHAT = JSON.stringify({ model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] });

/** An in-memory store whose `release` fails, as a store that is down does. */
function storeWhoseReleaseFails(): Store {
  const store = openSqliteStore({ dataDir: ':memory:' });
  return new Proxy(store, {
    get(target, property) {
      if (property === 'release') return () => Promise.reject(new Error('SQLITE_IOERR: disk I/O error in release'));
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * Two projects may give their own accounts (BYOK) the same name: every line about such an account
 * names its project too (`byok_project`, as `request_settled` and the others do), or the operator
 * cannot tell whose account failed.
 */
describe('log lines about a project’s own account', () => {
  let harness: Harness;
  let logger: ReturnType<typeof recordingLogger>;
  let key: string;

  async function start(accounts: (secretKey: SecretKey) => ProjectAccountRecord[], options: { store?: Store; metering?: Record<string, number> } = {}): Promise<void> {
    logger = recordingLogger();
    harness = await startHarness({
      store: options.store,
      logger,
      config: (baseUrl) => ({ providers: { openai: { baseUrl } }, ...(options.metering && { metering: options.metering }) }),
      env: { TOLLGATE_SECRET_KEY: SECRET_KEY },
    });
    await harness.store.createProject({ name: 'acme', createdAt: new Date().toISOString() });
    for (const account of accounts(localSecretKey({ TOLLGATE_SECRET_KEY: SECRET_KEY }, { create: false })!)) await harness.store.addProjectAccount(account);
    ({ key } = await harness.issue({ project: 'acme' }));
  }
  afterEach(async () => {
    await harness.close();
  });

  const account = (secretKey: SecretKey, name: string, sealed = sealCredential(UPSTREAM_KEY, secretKey, sealingContext({ project: 'acme', name }))): ProjectAccountRecord => ({
    project: 'acme',
    name,
    kind: 'openai',
    baseUrl: harness.upstream.baseUrl,
    credential: { kind: 'sealed', sealed },
    hint: '',
    createdAt: new Date().toISOString(),
  });

  async function chat(): Promise<number> {
    const response = await fetch(`${harness.gateway.url}/proxy/openai/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: CHAT,
    });
    await response.arrayBuffer();
    return response.status;
  }

  function line(event: string) {
    return logger.lines.find((each) => each.event === event)?.fields;
  }

  it('credential_unavailable names the account’s project', async () => {
    // GIVEN the project's account, whose stored credential does not open
    await start((secretKey) => [account(secretKey, 'openai-own', sealCredential(UPSTREAM_KEY, secretKey, sealingContext({ project: 'other', name: 'openai-own' })))]);

    // WHEN
    expect(await chat()).toBe(500);

    // THEN
    expect(line('credential_unavailable')).toMatchObject({ provider: 'openai-own', byok_project: 'acme', message: expect.stringMatching(/does not open/) });
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('reservation_release_failed names the account’s project', async () => {
    // GIVEN two accounts of the project, both answering 500 (so the first's reservation is handed back), on a store that cannot release
    await start((secretKey) => [account(secretKey, 'openai-own-1'), account(secretKey, 'openai-own-2')], { store: storeWhoseReleaseFails() });
    harness.upstream.behaviour.error = { status: 500, body: JSON.stringify({ error: { message: 'boom', type: 'server_error' } }) };

    // WHEN
    expect(await chat()).toBe(500);

    // THEN the first account tried is named, with its project
    expect(harness.upstream.requests).toHaveLength(2);
    expect(line('reservation_release_failed')).toMatchObject({ provider: expect.stringMatching(/^openai-own-[12]$/), byok_project: 'acme', reservation: expect.any(String) });
  });

  it('metering_gave_up names the account’s project', async () => {
    // GIVEN the project's account, answering a document larger than metering reads
    await start((secretKey) => [account(secretKey, 'openai-own')], { metering: { maxBufferedBytes: 1024, maxDecodedBytes: 4096 } });
    const document = Buffer.from(JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', padding: 'x'.repeat(8192) }));
    harness.upstream.behaviour.raw = (res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(document.length) });
      res.end(document);
    };

    // WHEN
    expect(await chat()).toBe(200);

    // THEN
    expect(line('metering_gave_up')).toMatchObject({ provider: 'openai-own', byok_project: 'acme', reason: 'buffered-limit' });
  });
});
