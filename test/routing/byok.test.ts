import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startLocalGateway, type RunningGateway } from '../../lambda/app/local-gateway';
import { parseConfig } from '../../lambda/config/config';
import { issueKey } from '../../lambda/keys/issue-key';
import { openDynamoStore } from '../../lambda/store/dynamodb';
import type { SpendCounter, Store } from '../../lambda/store/port';
import { openSqliteStore } from '../../lambda/store/sqlite';
import { json, run, tempDir, type Run } from '../cli/run';
import { startDynalite, type LocalDynamo } from '../support/dynalite';
import { startFakeOpenAI, UPSTREAM_KEY, type FakeOpenAI } from '../support/fake-openai';
import { recordingLogger } from '../support/recording-logger';

/** The project's own OpenAI key: what must reach its upstream, and nothing else. */
const ACME_KEY = 'sk-Zq7c1e90d2b5a4f3e8d6c9a0b1Vwxyz';
const TTL_MS = 60_000;

interface Backend {
  readonly store: Store;
  /** What the CLI needs to reach the same store. */
  readonly cliEnv: NodeJS.ProcessEnv;
  /** Every byte the store holds of a project's accounts, as it holds them. */
  storedBytes(project: string): Promise<Buffer>;
  close(): Promise<void>;
}

async function sqliteBackend(dataDir: string): Promise<Backend> {
  const store = openSqliteStore({ dataDir });
  return {
    store,
    cliEnv: { TOLLGATE_DATA_DIR: dataDir },
    // The database, its write-ahead log and shared memory: wherever SQLite put the pages.
    storedBytes: async () => Buffer.concat(readdirSync(dataDir).filter((name) => name.startsWith('tollgate.db')).map((name) => readFileSync(join(dataDir, name)))),
    close: () => store.close(),
  };
}

async function dynamoBackend(dataDir: string, dynamo: LocalDynamo): Promise<Backend> {
  const tables = await dynamo.createTables();
  const store = openDynamoStore({ client: dynamo.client, ...tables });
  return {
    store,
    cliEnv: {
      TOLLGATE_DATA_DIR: dataDir,
      TOLLGATE_STORE: 'dynamodb',
      TOLLGATE_DYNAMODB_ENDPOINT: dynamo.endpoint,
      TOLLGATE_KEYS_TABLE: tables.keysTable,
      TOLLGATE_SPEND_TABLE: tables.spendTable,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'tollgate-test',
      AWS_SECRET_ACCESS_KEY: 'tollgate-test',
    },
    storedBytes: async (project) => {
      const { Item } = await dynamo.client.send(new GetItemCommand({ TableName: tables.keysTable, Key: { pk: { S: `accounts#${project}` } }, ConsistentRead: true }));
      return Buffer.from(JSON.stringify(Item ?? {}));
    },
    close: () => store.close(),
  };
}

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.close();
});

describe.each([
  ['SQLite', (dir: string) => sqliteBackend(dir)],
  ['DynamoDB', (dir: string) => dynamoBackend(dir, dynamo)],
])('a project’s own provider account (BYOK), on %s', (_store, open) => {
  let dir: { path: string; remove(): void };
  let backend: Backend;
  let managed: FakeOpenAI;
  let own: FakeOpenAI;
  let gateway: RunningGateway;
  let now: number;
  const logger = recordingLogger();
  const cliOutput: Run[] = [];

  /** The CLI in-process, on the gateway's store, with the project's credential in its environment only. */
  const cli = async (...argv: string[]): Promise<Run> => {
    const result = await run(argv, { ...backend.cliEnv, ACME_OPENAI_KEY: ACME_KEY }, { clock: () => new Date(now) });
    cliOutput.push(result);
    return result;
  };
  const addAccount = async (project: string, name: string): Promise<void> => {
    const added = await cli('providers', 'add', '--project', project, '--name', name, '--kind', 'openai', '--base-url', own.baseUrl, '--credential-from-env', 'ACME_OPENAI_KEY');
    expect(added).toMatchObject({ code: 0, stderr: '' });
  };
  const client = (key: string, route: string) => new OpenAI({ apiKey: key, baseURL: `${gateway.url}/proxy/${route}`, maxRetries: 0 });
  const chat = (key: string, route: string) =>
    client(key, route).chat.completions.create({ model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] }).withResponse();
  const servedBy = async (key: string, route = 'openai'): Promise<string | null> => (await chat(key, route)).response.headers.get('x-tollgate-provider');
  const lifetime = async (kind: 'project' | 'byok', id: string): Promise<SpendCounter | undefined> => {
    // Spend settles just after the last byte: wait for it, generously (a loaded machine is slow, not wrong).
    const deadline = Date.now() + 15_000;
    for (;;) {
      const counter = (await backend.store.getSpend({ kind, id })).find((c) => c.period === 'lifetime');
      if (counter || Date.now() > deadline) return counter;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  beforeAll(async () => {
    dir = tempDir('tollgate-byok-');
    backend = await open(dir.path);
    managed = await startFakeOpenAI();
    own = await startFakeOpenAI({ key: ACME_KEY });
    now = Date.parse('2026-11-27T10:00:00Z');
    gateway = await startLocalGateway({
      store: backend.store,
      config: parseConfig({ providers: { openai: { baseUrl: managed.baseUrl } }, limits: { keyCacheTtlMs: TTL_MS } }, 'test'),
      // The gateway's own data directory: where the CLI left the secret key that opens the project's credential.
      env: { OPENAI_API_KEY: UPSTREAM_KEY, TOLLGATE_DATA_DIR: dir.path },
      port: 0,
      logger,
      clock: () => new Date(now),
    });
    await addAccount('acme', 'openai-acme');
  });

  afterEach(() => {
    managed.reset();
    own.reset();
  });

  afterAll(async () => {
    await gateway.close();
    await managed.close();
    await own.close();
    await backend.close();
    dir.remove();
  });

  it('sends the project’s credential upstream for its keys, on the kind’s routes and under its own name', async () => {
    // GIVEN a key of the project that added its own OpenAI account
    const { key } = await issueKey(backend.store, { project: 'acme' });

    // WHEN it calls the managed route, a PAIG alias, and the account's own name (streamed)
    const viaKind = await chat(key, 'openai');
    const viaAlias = await chat(key, 'chat');
    const stream = await client(key, 'openai-acme').chat.completions.create({ model: 'gpt-4o', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'Hi' }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';

    // THEN every request went to the project's account with the project's credential, none to the gateway's
    expect(viaKind.data.choices[0]?.message.content).toBeTruthy();
    expect(text).not.toBe('');
    expect(viaKind.response.headers.get('x-tollgate-provider')).toBe('openai-acme');
    expect(viaAlias.response.headers.get('x-tollgate-provider')).toBe('openai-acme');
    expect(own.requests.map((request) => request.headers.authorization)).toEqual([`Bearer ${ACME_KEY}`, `Bearer ${ACME_KEY}`, `Bearer ${ACME_KEY}`]);
    expect(managed.requests).toHaveLength(0);
  });

  it('never lends it to another project’s keys: they get the gateway’s account, and its name is an unknown route to them', async () => {
    // GIVEN a key of another project
    const { key } = await issueKey(backend.store, { project: 'beta' });

    // WHEN it calls the kind's route, then the other project's account by name
    const served = await servedBy(key);
    const borrowed = await fetch(`${gateway.url}/proxy/openai-acme/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }),
    });

    // THEN the first used the gateway's credential, and the second got exactly an unknown route's 404
    expect(served).toBe('openai');
    expect(managed.requests.map((request) => request.headers.authorization)).toEqual([`Bearer ${UPSTREAM_KEY}`]);
    const unknown = await fetch(`${gateway.url}/proxy/openai-nobody/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: '{}' });
    expect(borrowed.status).toBe(404);
    expect(borrowed.headers.get('x-tollgate-error')).toBe('not_found');
    expect((await borrowed.text()).replace('openai-acme', 'NAME')).toBe((await unknown.text()).replace('openai-nobody', 'NAME'));
    expect(own.requests).toHaveLength(0);
  });

  it('answers a name some project uses exactly as a name nobody uses, whatever key comes with it', async () => {
    const probe = async (route: string, headers: Record<string, string>) => {
      const response = await fetch(`${gateway.url}/proxy/${route}/chat/completions`, { method: 'POST', headers, body: '{}' });
      return { status: response.status, body: (await response.text()).replaceAll(route, 'NAME') };
    };
    const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer tgk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, { authorization: 'Bearer not-a-key' }];
    for (const headers of attempts) {
      expect(await probe('openai-acme', headers)).toEqual(await probe('openai-nobody', headers));
    }
    expect(own.requests).toHaveLength(0);
  });

  it('records spend on the project’s own account apart from the gateway’s, and reports both', async () => {
    // GIVEN a project that made one request on the gateway's credential, then added its own account and made one on it
    const { key } = await issueKey(backend.store, { project: 'delta' });
    expect(await servedBy(key)).toBe('openai');
    await lifetime('project', 'delta');
    await addAccount('delta', 'openai-delta');
    now += TTL_MS + 1;
    expect(await servedBy(key)).toBe('openai-delta');

    // THEN the second is counted as the project's own, beside the project's total of both
    expect(await lifetime('byok', 'delta/openai-delta')).toMatchObject({ requests: 1 });
    const total = await lifetime('project', 'delta');
    expect(total?.requests).toBe(2);
    const own = (await lifetime('byok', 'delta/openai-delta'))!;
    expect(own.nanos).toBeGreaterThan(0);

    // AND `tollgate spend --project delta` shows the total, the managed share to bill back, and the project's own account
    const report = await cli('spend', '--project', 'delta', '--period', 'lifetime', '--json');
    const rows = json<{ scope: { kind: string; id: string }; nanos: number; requests: number }[]>(report);
    expect(rows.map((row) => [`${row.scope.kind}:${row.scope.id}`, row.nanos, row.requests])).toEqual([
      ['project:delta', total!.nanos, 2],
      ['managed:delta', total!.nanos - own.nanos, 1],
      ['byok:delta/openai-delta', own.nanos, 1],
    ]);
    expect(total!.nanos - own.nanos).toBeGreaterThan(0);
    const table = await cli('spend', '--project', 'delta', '--period', 'lifetime');
    expect(table.stdout.split('\n').map((line) => line.split(/\s+/)[0])).toEqual(['SCOPE', 'project:delta', 'managed:delta', 'byok:delta/openai-delta', '']);

    // AND a project without an account of its own records nothing beyond its usual scopes
    const beta = await issueKey(backend.store, { project: 'beta' });
    await chat(beta.key, 'openai');
    expect((await backend.store.getSpend({ kind: 'byok' })).filter((counter) => counter.scope.id.startsWith('beta/'))).toEqual([]);
  });

  it('is picked up by a running gateway within the record cache TTL, when added and when removed', async () => {
    // GIVEN a project's key that the running gateway has already served (and cached) with the managed account
    const { key } = await issueKey(backend.store, { project: 'gamma' });
    expect(await servedBy(key)).toBe('openai');

    // WHEN the project adds its own account
    await addAccount('gamma', 'openai-gamma');

    // THEN the cached record still serves until the TTL has passed, and the project's account right after
    expect(await servedBy(key)).toBe('openai');
    now += TTL_MS + 1;
    expect(await servedBy(key)).toBe('openai-gamma');
    expect(own.requests.at(-1)?.headers.authorization).toBe(`Bearer ${ACME_KEY}`);

    // AND once it is removed, the gateway's account serves again after the TTL
    expect(await cli('providers', 'remove', 'openai-gamma', '--project', 'gamma')).toMatchObject({ code: 0 });
    now += TTL_MS + 1;
    expect(await servedBy(key)).toBe('openai');
    expect(await servedBy(key, 'openai-gamma').catch((error: unknown) => (error as { status?: number }).status)).toBe(404);
  });

  it('fails closed when a gateway cannot open the credential: never onto the gateway’s own account', async () => {
    // GIVEN a second gateway on the same store, without the secret key the CLI sealed with
    const keyless = tempDir('tollgate-byok-keyless-');
    const other = await startLocalGateway({
      store: backend.store,
      config: parseConfig({ providers: { openai: { baseUrl: managed.baseUrl } } }, 'test'),
      env: { OPENAI_API_KEY: UPSTREAM_KEY, TOLLGATE_DATA_DIR: keyless.path },
      port: 0,
      logger,
    });
    try {
      const { key } = await issueKey(backend.store, { project: 'acme' });

      // WHEN the project's key makes a request there
      const response = await fetch(`${other.url}/proxy/openai/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }),
      });

      // THEN it is refused, saying why, and nothing reached either upstream
      expect(response.status).toBe(500);
      expect(((await response.json()) as { error: { message: string } }).error.message).toBe('The gateway could not read the credential for provider openai-acme.');
      expect(managed.requests).toHaveLength(0);
      expect(own.requests).toHaveLength(0);
      expect(logger.lines.find((line) => line.event === 'credential_unavailable')?.fields['message']).toMatch(/no secret key to open it: set TOLLGATE_SECRET_KEY/);
    } finally {
      await other.close();
      keyless.remove();
    }
  });

  it('serves an OpenAI-compatible account that names no pricing under the unpriced policy it was added with', async () => {
    // GIVEN two projects with their own OpenAI-compatible server (no pricingProvider, so no model has a price), one added with --unpriced allow
    const addServer = async (project: string, ...flags: string[]) =>
      expect(
        await cli('providers', 'add', '--project', project, '--name', 'local-llm', '--kind', 'openai-compatible', '--base-url', own.baseUrl, '--credential-from-env', 'ACME_OPENAI_KEY', ...flags),
      ).toMatchObject({ code: 0, stderr: '' });
    await addServer('epsilon', '--unpriced', 'allow');
    await addServer('zeta');
    const allowed = await issueKey(backend.store, { project: 'epsilon' });
    const refused = await issueKey(backend.store, { project: 'zeta' });
    const localChat = (key: string) =>
      client(key, 'local-llm').chat.completions.create({ model: 'llama-3.3-70b-local', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] }).withResponse();

    // WHEN each calls its server with a model tollgate has no price for
    const rejection = await localChat(refused.key).catch((error: unknown) => error as InstanceType<typeof OpenAI.APIError>);
    const served = await localChat(allowed.key);

    // THEN the default policy refused it before forwarding, and `allow` forwarded it and recorded it at no cost
    expect(rejection).toMatchObject({ status: 400, code: 'unpriced_model' });
    expect(served.response.headers.get('x-tollgate-provider')).toBe('local-llm');
    expect(served.data.choices[0]?.message.content).toBeTruthy();
    expect(own.requests.map((request) => [JSON.parse(request.body.toString('utf8')).model, request.headers.authorization])).toEqual([['llama-3.3-70b-local', `Bearer ${ACME_KEY}`]]);
    expect(await lifetime('byok', 'epsilon/local-llm')).toMatchObject({ requests: 1, nanos: 0 });
    expect(await lifetime('project', 'epsilon')).toMatchObject({ requests: 1, nanos: 0 });
  });

  it('keeps the credential out of the stored bytes, every CLI output and the logs', async () => {
    // WHEN the accounts are listed, as a table and as JSON
    const table = await cli('providers', 'list');
    const listed = json<{ project: string; name: string; kind: string; credentialEndsWith: string; storedIn: string }[]>(await cli('providers', 'list', '--project', 'acme', '--json'));

    // THEN the listing shows the name, kind, project and the last 4 characters only
    expect(table.stdout).toMatch(/^acme\s+openai-acme\s+openai\s+\.\.\.wxyz\s+sealed \(local\)/m);
    expect(listed).toEqual([expect.objectContaining({ project: 'acme', name: 'openai-acme', kind: 'openai', credentialEndsWith: 'wxyz', storedIn: 'sealed' })]);

    // AND no output of any command in this file, nor any log line, nor the store, holds any 8 characters of it
    const stored = (await backend.storedBytes('acme')).toString('latin1');
    const printed = cliOutput.map((result) => result.stdout + result.stderr).join('\n');
    const logged = JSON.stringify(logger.lines);
    for (let at = 0; at + 8 <= ACME_KEY.length; at++) {
      const piece = ACME_KEY.slice(at, at + 8);
      expect({ piece, in: 'store', found: stored.includes(piece) }).toEqual({ piece, in: 'store', found: false });
      expect({ piece, in: 'cli', found: printed.includes(piece) }).toEqual({ piece, in: 'cli', found: false });
      expect({ piece, in: 'logs', found: logged.includes(piece) }).toEqual({ piece, in: 'logs', found: false });
    }
    // The store does hold the account: the scan looked at the right bytes.
    expect(stored).toContain('openai-acme');
  });
});
