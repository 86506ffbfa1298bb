import OpenAI from 'openai';
import { openDynamoStore } from '../../lambda/store/dynamodb';
import type { Store } from '../../lambda/store/port';
import { openSqliteStore } from '../../lambda/store/sqlite';
import { startDynalite, type LocalDynamo } from '../support/dynalite';
import { startHarness } from '../support/harness';
import { json, run, tempDir, type Run } from './run';

interface AccessJson {
  routes: string[] | null;
  models: string[] | null;
}

const NOW = new Date('2026-11-27T10:00:00Z');
const DELAY = 'Running gateways apply it within their record cache TTL (limits.keyCacheTtlMs, 5 s by default).';
const ANY: AccessJson = { routes: null, models: null };

/** Where the CLI writes, and a store on the same records to check what the gateway will read. */
interface Target {
  readonly name: string;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  /** The command line before the command: none locally, the deployed tables' for a stack. */
  prefix(): string[];
  env(): NodeJS.ProcessEnv;
  openStore(): Store;
  /** Once, after every test. */
  close(): Promise<void>;
}

function localTarget(): Target {
  let dir: ReturnType<typeof tempDir>;
  return {
    name: 'the local SQLite store',
    async setUp() {
      dir = tempDir();
    },
    async tearDown() {
      dir.remove();
    },
    prefix: () => [],
    env: () => ({ TOLLGATE_DATA_DIR: dir.path }),
    openStore: () => openSqliteStore({ dataDir: dir.path }),
    close: async () => {},
  };
}

/**
 * A deployed stack's DynamoDB tables, named on the command line as `--stack` resolves them, on
 * dynalite: the AWS SDK takes its endpoint from AWS_ENDPOINT_URL_DYNAMODB, as an operator's
 * environment could point it anywhere; the CLI itself knows nothing of a local engine here.
 */
function stackTarget(): Target {
  let dynamo: LocalDynamo | undefined;
  let tables: { keysTable: string; spendTable: string };
  return {
    name: 'a deployed stack (--region, --keys-table, --spend-table)',
    async setUp() {
      dynamo ??= await startDynalite();
      tables = await dynamo.createTables();
      process.env['AWS_ENDPOINT_URL_DYNAMODB'] = dynamo.endpoint;
    },
    async tearDown() {
      delete process.env['AWS_ENDPOINT_URL_DYNAMODB'];
    },
    prefix: () => ['--region', 'us-east-1', '--keys-table', tables.keysTable, '--spend-table', tables.spendTable],
    env: () => ({ AWS_ACCESS_KEY_ID: 'tollgate-test', AWS_SECRET_ACCESS_KEY: 'tollgate-test' }),
    openStore() {
      if (!dynamo) throw new Error('set up first');
      return openDynamoStore({ client: dynamo.client, ...tables });
    },
    async close() {
      await dynamo?.close();
    },
  };
}

const targets = [localTarget(), stackTarget()];
afterAll(() => Promise.all(targets.map((target) => target.close())));

describe.each(targets)('tollgate allow-lists, on $name', (target) => {
  beforeEach(() => target.setUp());
  afterEach(() => target.tearDown());

  const tg = (...args: string[]): Promise<Run> => run([...target.prefix(), ...args], target.env(), { clock: () => NOW });

  async function records<T>(read: (store: Store) => Promise<T>): Promise<T> {
    const store = target.openStore();
    try {
      return await read(store);
    } finally {
      await store.close();
    }
  }

  async function createKey(...args: string[]): Promise<{ key: string; id: string; prefix: string; access: AccessJson }> {
    const result = await tg('keys', 'create', '--json', ...args);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    return json(result);
  }

  test('keys create stores the lists from the start; comma-separated, repeatable, trimmed, each pattern once', async () => {
    // WHEN
    const created = await createKey('--project', 'acme', '--routes', 'openai, anthropic', '--routes', 'openai', '--models', 'gpt-5*,claude-*');

    // THEN
    expect(created.access).toEqual({ routes: ['openai', 'anthropic'], models: ['gpt-5*', 'claude-*'] });
    expect((await records((store) => store.getKey(created.id)))?.access).toEqual({ routes: ['openai', 'anthropic'], models: ['gpt-5*', 'claude-*'] });

    // AND the human output says what the key may use
    const human = await tg('keys', 'create', '--project', 'acme', '--daily', '5', '--models', 'gpt-5*');
    expect(human.stderr).toContain('(daily $5.00, models gpt-5*)');
  });

  test('keys list and keys show show the key’s lists, and show puts its project’s beside them', async () => {
    // GIVEN a project with a route list, and a key narrowing its models
    expect((await tg('projects', 'create', 'acme', '--routes', 'openai,bedrock')).code).toBe(0);
    const created = await createKey('--project', 'acme', '--name', 'ci', '--models', 'gpt-5*,*claude-*');
    const plain = await createKey('--project', 'acme');

    // THEN the listing has the key's own lists
    const rows = (await tg('keys', 'list')).stdout.trimEnd().split('\n');
    expect(rows[0]?.split(/\s+/).at(-1)).toBe('ACCESS');
    expect(rows.find((row) => row.startsWith(created.id))?.split(/\s{2,}/).at(-1)).toBe('models gpt-5*,*claude-*');
    expect(rows.find((row) => row.startsWith(plain.id))?.split(/\s{2,}/).at(-1)).toBe('-');

    // AND show gives both, by id or by the whole key, never echoing the key
    for (const given of [created.id, created.key]) {
      const shown = await tg('keys', 'show', given);
      expect(shown).toEqual({
        code: 0,
        stderr: '',
        stdout: [
          `Key ${created.id} (${created.prefix}…)`,
          '  project  acme',
          '  user     -',
          '  name     ci',
          '  created  2026-11-27 10:00Z',
          '  status   active',
          '  limits   none',
          '  routes   key: any; project acme: openai, bedrock',
          '  models   key: gpt-5*, *claude-*; project acme: any',
          '',
        ].join('\n'),
      });
    }
    const shown = json<{ id: string; access: AccessJson; projectAccess: AccessJson }>(await tg('keys', 'show', created.id, '--json'));
    expect(shown).toMatchObject({ id: created.id, access: { routes: null, models: ['gpt-5*', '*claude-*'] }, projectAccess: { routes: ['openai', 'bedrock'], models: null } });
    expect(JSON.stringify(shown)).not.toContain(created.key.slice(21));
  });

  test('keys set-access replaces the lists given, keeps the others, and clears with --clear-*', async () => {
    const created = await createKey('--project', 'acme', '--routes', 'openai', '--models', 'gpt-5*');

    // WHEN only the models change
    const changed = await tg('keys', 'set-access', created.id, '--models', 'claude-*');
    expect(changed).toEqual({ code: 0, stderr: '', stdout: `Key ${created.id} (${created.prefix}…, project acme): routes openai; models claude-*, within what project acme allows. ${DELAY}\n` });
    expect((await records((store) => store.getKey(created.id)))?.access).toEqual({ routes: ['openai'], models: ['claude-*'] });

    // WHEN the routes are cleared
    const cleared = json<{ access: AccessJson }>(await tg('keys', 'set-access', created.id, '--clear-routes', '--json'));
    expect(cleared.access).toEqual({ routes: null, models: ['claude-*'] });

    // WHEN the last list is cleared, nothing is stored
    const none = await tg('keys', 'set-access', created.id, '--clear-models');
    expect(none.stdout).toContain('any route and model, within what project acme allows.');
    expect(await records((store) => store.getKey(created.id))).not.toHaveProperty('access');
  });

  test('keys set-access refuses a revoked or unknown key', async () => {
    const created = await createKey('--project', 'acme');
    await tg('keys', 'revoke', created.id);

    expect(await tg('keys', 'set-access', created.id, '--models', 'x')).toEqual({ code: 1, stdout: '', stderr: `tollgate: key ${created.id} is revoked, for good; what it may use no longer matters\n` });
    expect(await tg('keys', 'set-access', 'aaaaaaaaaaaa', '--models', 'x')).toEqual({ code: 1, stdout: '', stderr: 'tollgate: no key with id "aaaaaaaaaaaa" (see "tollgate keys list")\n' });
  });

  test('projects create, set-access, list and show', async () => {
    // WHEN created with a route list, then given models, then its routes replaced
    expect(json<{ access: AccessJson }>(await tg('projects', 'create', 'acme', '--routes', 'openai', '--json')).access).toEqual({ routes: ['openai'], models: null });
    const set = await tg('projects', 'set-access', 'acme', '--models', 'gpt-5*,claude-?-*');
    expect(set).toEqual({ code: 0, stderr: '', stdout: `Project "acme": routes openai; models gpt-5*,claude-?-*, for every key of it. ${DELAY}\n` });
    const replaced = json<{ access: AccessJson }>(await tg('projects', 'set-access', 'acme', '--routes', 'anthropic,google-*', '--json'));
    expect(replaced.access).toEqual({ routes: ['anthropic', 'google-*'], models: ['gpt-5*', 'claude-?-*'] });
    expect((await records((store) => store.getProject('acme')))?.access).toEqual({ routes: ['anthropic', 'google-*'], models: ['gpt-5*', 'claude-?-*'] });
    await tg('projects', 'create', 'zeta');

    // THEN list and show have them
    const rows = (await tg('projects', 'list')).stdout.trimEnd().split('\n').map((line) => line.split(/\s{2,}/));
    expect(rows.map((row) => [row[0], row.at(-1)])).toEqual([
      ['NAME', 'ACCESS'],
      ['acme', 'routes anthropic,google-*; models gpt-5*,claude-?-*'],
      ['zeta', '-'],
    ]);
    expect(json<{ name: string; access: AccessJson }[]>(await tg('projects', 'list', '--json')).map((p) => [p.name, p.access])).toEqual([
      ['acme', { routes: ['anthropic', 'google-*'], models: ['gpt-5*', 'claude-?-*'] }],
      ['zeta', ANY],
    ]);
    await createKey('--project', 'acme', '--models', 'gpt-5-mini');
    await createKey('--project', 'acme');
    expect(await tg('projects', 'show', 'acme')).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'Project acme',
        '  mode     strict',
        '  limits   no caps',
        '  routes   anthropic, google-*',
        '  models   gpt-5*, claude-?-*',
        '  keys     2 (1 with lists of their own, within these: see "tollgate keys list --project acme")',
        '  created  2026-11-27 10:00Z',
        '',
      ].join('\n'),
    });

    // WHEN both are cleared
    const cleared = await tg('projects', 'set-access', 'acme', '--clear-routes', '--clear-models');
    expect(cleared.stdout).toBe(`Project "acme": any route and model, for every key of it. ${DELAY}\n`);
    expect(await records((store) => store.getProject('acme'))).not.toHaveProperty('access');
    expect((await tg('projects', 'show', 'zeta')).stdout).toContain('  routes   any\n  models   any\n');
  });

  test('set-access and show on an unknown project exit 1', async () => {
    expect(await tg('projects', 'set-access', 'nobody', '--routes', 'openai')).toEqual({ code: 1, stdout: '', stderr: 'tollgate: no project named "nobody" (see "tollgate projects list")\n' });
    expect((await tg('projects', 'show', 'nobody')).code).toBe(1);
  });

  test('bad lists exit 2 with the reason, and change nothing', async () => {
    await tg('projects', 'create', 'acme', '--routes', 'openai');
    const created = await createKey('--project', 'acme', '--models', 'gpt-5*');
    const cases: [string[], string][] = [
      [['keys', 'create', '--project', 'acme', '--routes', ''], '--routes takes a comma-separated list of names or patterns, with none empty'],
      [['keys', 'create', '--project', 'acme', '--models', 'gpt-5*,,claude-*'], 'with none empty (to allow every one, leave it out or use --clear-models)'],
      [['keys', 'create', '--project', 'acme', '--routes', 'OpenAI'], '--routes: "OpenAI" is not a route name or pattern (lower-case letters, digits, "-", and the wildcards "*" and "?")'],
      [['keys', 'create', '--project', 'acme', '--routes', 'openai/v1'], '"openai/v1" is not a route name or pattern'],
      [['keys', 'create', '--project', 'acme', '--models', 'gpt 5'], '--models: "gpt 5" is not a model name or pattern (no spaces or control characters)'],
      [['keys', 'create', '--project', 'acme', '--clear-models'], "unknown option '--clear-models'"],
      [['keys', 'set-access', created.id], 'nothing to change: give --routes, --models, --clear-routes or --clear-models'],
      [['keys', 'set-access', created.id, '--models', 'x', '--clear-models'], '--models and --clear-models contradict each other: give one'],
      [['keys', 'set-access'], 'missing key id'],
      [['projects', 'set-access', 'acme'], 'nothing to change'],
      [['projects', 'set-access', 'acme', '--routes', 'a', '--clear-routes'], '--routes and --clear-routes contradict each other'],
      [['projects', 'set-access'], 'missing project name'],
      [['projects', 'show'], 'missing project name'],
      [['keys', 'show'], 'missing key id'],
    ];
    for (const [args, reason] of cases) {
      const result = await tg(...args);
      expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(result.stderr).toContain(reason);
    }
    expect((await records((store) => store.getKey(created.id)))?.access).toEqual({ models: ['gpt-5*'] });
    expect((await records((store) => store.getProject('acme')))?.access).toEqual({ routes: ['openai'] });
    expect((await records((store) => store.listKeys())).length).toBe(1);
  });

  test('what the CLI sets is what a running gateway enforces', async () => {
    // GIVEN a gateway on the same records, with no record cache, and a key the CLI made
    const store = target.openStore();
    const harness = await startHarness({ store, config: (baseUrl) => ({ providers: { openai: { baseUrl } }, limits: { keyCacheTtlMs: 0 } }) });
    try {
      const created = await createKey('--project', 'acme', '--models', 'gpt-5*');
      const client = new OpenAI({ apiKey: created.key, baseURL: `${harness.gateway.url}/proxy/openai`, maxRetries: 0 });
      const chat = () => client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] });

      // THEN the key's list refuses gpt-4o
      await expect(chat()).rejects.toMatchObject({ status: 403, code: 'model_not_allowed' });

      // WHEN the key's list is cleared but its project's routes leave out openai
      await tg('keys', 'set-access', created.id, '--clear-models');
      await tg('projects', 'set-access', 'acme', '--routes', 'anthropic');
      await expect(chat()).rejects.toMatchObject({ status: 403, code: 'route_not_allowed' });

      // WHEN the project's list is cleared too
      await tg('projects', 'set-access', 'acme', '--clear-routes');
      expect((await chat()).choices[0]?.message.content).toBeTruthy();
      expect(harness.upstream.requests).toHaveLength(1);
    } finally {
      await harness.close();
    }
  });

  test('every new command has --help', async () => {
    for (const args of [['keys', 'show', '--help'], ['keys', 'set-access', '--help'], ['projects', 'show', '-h'], ['projects', 'set-access', '--help']]) {
      const result = await tg(...args);
      expect(result).toMatchObject({ code: 0, stderr: '', stdout: expect.stringMatching(new RegExp(`^Usage: tollgate ${args[0]} ${args[1]}`)) });
    }
    expect((await tg('keys', 'create', '--help')).stdout).toContain("--models <list>    Models it may use, as the request names them, e.g. 'gpt-5*,claude-*'");
  });
});
