import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { envCredentials } from '../../lambda/config/credentials';
import { projectAccountSettings } from '../../lambda/routing/project-accounts';
import { openSqliteStore } from '../../lambda/store/sqlite';
import { CLIENT_EMAIL, createServiceAccount } from '../support/fake-google';
import { json, run, tempDir, type Run } from './run';

const CREDENTIAL = 'sk-Hq4x9t2LmN8pR3vB6cK1dZ0yWfGjA7e5';
const NOW = new Date('2026-11-27T10:00:00Z');

interface ListedAccount {
  project: string;
  name: string;
  kind: string;
  baseUrl: string | null;
  options: unknown;
  unpriced: string;
  unpricedBlockMinutes: number | null;
  credentialEndsWith: string | null;
  serviceAccount: string | null;
  storedIn: 'sealed' | 'secrets-manager';
  secretId: string | null;
  createdAt: string;
}

describe('tollgate providers', () => {
  let dir: ReturnType<typeof tempDir>;
  let env: NodeJS.ProcessEnv;
  /** Every output of every command in a test: none may hold the credential. */
  let outputs: string[];

  beforeEach(() => {
    dir = tempDir();
    env = { TOLLGATE_DATA_DIR: dir.path, OWN_KEY: CREDENTIAL };
    outputs = [];
  });
  afterEach(() => {
    for (const output of outputs) expect(output).not.toContain(CREDENTIAL.slice(3, 15));
    dir.remove();
  });

  async function tg(args: string[], extra: { stdin?: Readable & { isTTY?: boolean } } = {}): Promise<Run> {
    const result = await run(args, env, { clock: () => NOW, ...extra });
    outputs.push(result.stdout + result.stderr);
    return result;
  }
  const add = (...args: string[]) => tg(['providers', 'add', '--project', 'acme', '--name', 'openai-acme', '--kind', 'openai', ...args]);
  const list = async (...args: string[]) => json<ListedAccount[]>(await tg(['providers', 'list', '--json', ...args]));
  /** What a gateway with this environment would send upstream for the stored account. */
  const opened = async (gatewayEnv: NodeJS.ProcessEnv = env, project = 'acme'): Promise<string | undefined> => {
    const store = openSqliteStore({ dataDir: dir.path });
    try {
      const [record] = await store.listProjectAccounts(project);
      return await envCredentials(gatewayEnv)(projectAccountSettings(record!));
    } finally {
      await store.close();
    }
  };

  it('adds an account from an environment variable, says where the credential went, and shows only its last 4 characters', async () => {
    // WHEN
    const added = await add('--credential-from-env', 'OWN_KEY', '--base-url', 'https://eu.api.openai.com/v1');

    // THEN
    expect(added).toEqual({
      code: 0,
      stdout:
        'Added provider account "openai-acme" (openai) to project "acme"; its credential (ending "A7e5") is stored encrypted in the local store.\n' +
        'Keys of project "acme" now use it in place of the gateway\'s own openai accounts, and may name it as route "openai-acme". ' +
        'Running gateways apply it within their record cache TTL (limits.keyCacheTtlMs, 5 s by default).\n',
      stderr: '',
    });
    expect(await list()).toEqual([
      {
        project: 'acme',
        name: 'openai-acme',
        kind: 'openai',
        baseUrl: 'https://eu.api.openai.com/v1',
        options: null,
        unpriced: 'reject',
        unpricedBlockMinutes: null,
        credentialEndsWith: 'A7e5',
        serviceAccount: null,
        storedIn: 'sealed',
        secretId: null,
        createdAt: NOW.toISOString(),
      },
    ]);
    expect((await tg(['projects', 'list', '--json'])).stdout).toContain('"name": "acme"');
    expect(await opened()).toBe(CREDENTIAL);
  });

  it('reads the credential from a file or standard input, without its trailing newline', async () => {
    const file = join(dir.path, 'credential.txt');
    writeFileSync(file, `${CREDENTIAL}\n`);

    expect(await add('--credential-file', file)).toMatchObject({ code: 0 });
    expect(await opened()).toBe(CREDENTIAL);

    const piped = Object.assign(Readable.from([Buffer.from(`  ${CREDENTIAL}\r\n`)]), { isTTY: false });
    expect(await tg(['providers', 'add', '--project', 'beta', '--name', 'openai-beta', '--kind', 'openai', '--json'], { stdin: piped })).toMatchObject({ code: 0 });
    expect(await opened(env, 'beta')).toBe(CREDENTIAL);
  });

  it('creates the secret key on first use, private to its owner, and opens nothing without it', async () => {
    await add('--credential-from-env', 'OWN_KEY');

    expect(statSync(join(dir.path, 'secret.key')).mode & 0o777).toBe(0o600);
    const keyless = tempDir();
    try {
      await expect(opened({ TOLLGATE_DATA_DIR: keyless.path })).rejects.toThrow(/has a sealed credential, and this gateway has no secret key to open it/);
    } finally {
      keyless.remove();
    }
  });

  it('seals with TOLLGATE_SECRET_KEY when it is set, and says so when a gateway holds another key', async () => {
    env = { ...env, TOLLGATE_SECRET_KEY: Buffer.alloc(32, 7).toString('base64') };
    await add('--credential-from-env', 'OWN_KEY');

    expect(await opened()).toBe(CREDENTIAL);
    await expect(opened({ TOLLGATE_DATA_DIR: dir.path, TOLLGATE_SECRET_KEY: 'ab'.repeat(32) })).rejects.toThrow(
      /credential of acme\/openai-acme was sealed with another secret key than TOLLGATE_SECRET_KEY/,
    );
    // A malformed key is refused without being quoted.
    env = { ...env, TOLLGATE_SECRET_KEY: 'hunter2-not-a-key' };
    const malformed = await add('--credential-from-env', 'OWN_KEY', '--name', 'openai-acme-2');
    expect(malformed).toMatchObject({ code: 1, stderr: expect.stringContaining('TOLLGATE_SECRET_KEY must hold a 32-byte key, as 64 hex digits or base64') });
    expect(malformed.stderr).not.toContain('hunter2');
  });

  it('refuses a second account of the same name in a project, keeping the first', async () => {
    await add('--credential-from-env', 'OWN_KEY');
    env = { ...env, OTHER_KEY: 'sk-other-credential-000000' };

    const again = await add('--credential-from-env', 'OTHER_KEY', '--kind', 'openai');

    expect(again).toEqual({ code: 1, stdout: '', stderr: 'tollgate: project "acme" already has a provider account named "openai-acme"; remove it first (tollgate providers remove openai-acme --project acme)\n' });
    expect(await opened()).toBe(CREDENTIAL);
  });

  it('removes an account, and says when there is none', async () => {
    await add('--credential-from-env', 'OWN_KEY');

    expect(await tg(['providers', 'remove', 'openai-acme', '--project', 'acme'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Removed provider account "openai-acme" from project "acme"\. Running gateways/) });
    expect(await list()).toEqual([]);
    expect(await tg(['providers', 'remove', '--name', 'openai-acme', '--project', 'acme'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'tollgate: project "acme" has no provider account named "openai-acme" (see "tollgate providers list --project acme")\n',
    });
  });

  it.each([
    [['--name', 'openai-acme', '--kind', 'openai', '--credential-from-env', 'OWN_KEY'], '--project is required'],
    [['--project', 'acme', '--name', 'OpenAI', '--kind', 'openai', '--credential-from-env', 'OWN_KEY'], 'an account name is lower-case letters, digits and "-"'],
    [['--project', 'acme', '--name', 'chat', '--kind', 'openai', '--credential-from-env', 'OWN_KEY'], '"chat" is a route every gateway already has'],
    [['--project', 'acme', '--name', 'models', '--kind', 'openai', '--credential-from-env', 'OWN_KEY'], '"models" is a route every gateway already has'],
    [['--project', 'acme', '--name', 'x', '--kind', 'azure', '--credential-from-env', 'OWN_KEY'], '--kind must be one of openai, anthropic, groq, google-vertex, bedrock, google-gla, azure-openai, openai-compatible, not "azure"'],
    [['--project', 'acme', '--name', 'x', '--kind', 'openai', '--credential-from-env', 'OWN_KEY', '--credential-file', 'f'], 'give one of --credential-from-env and --credential-file'],
    [['--project', 'acme', '--name', 'x', '--kind', 'openai', '--credential-from-env', 'OWN_KEY', '--options', '{nope'], '--options must be a JSON object'],
    [['--project', 'acme', '--name', 'x', '--kind', 'openai', '--credential-from-env', 'OWN_KEY', '--base-url', 'ftp://x'], 'project "acme" provider account x.baseUrl: must be an http(s) URL without a query or fragment'],
    [['--project', 'acme', '--name', 'x', '--kind', 'openai', '--credential-from-env', 'OWN_KEY', '--options', '{"a":1}'], 'provider account x.options: provider kind openai takes no options'],
    [['--project', 'acme', '--name', 'v', '--kind', 'google-vertex', '--credential-from-env', 'OWN_KEY', '--options', '{"project":"Not A Project"}'], 'provider account v.options.project: must be a Google Cloud project id or number'],
    [['--project', 'acme', '--name', 'x', '--kind', 'openai', '--credential-from-env', 'OWN_KEY', '--unpriced', 'free'], '--unpriced must be one of reject, allow, block, not "free"'],
    [['--project', 'acme', '--name', 'x', '--kind', 'openai', '--credential-from-env', 'OWN_KEY', '--unpriced', 'allow', '--unpriced-block-minutes', '5'], '--unpriced-block-minutes goes with --unpriced block'],
    [['--project', 'acme', '--name', 'x', '--kind', 'openai', '--credential-from-env', 'OWN_KEY', '--unpriced-block-minutes', '5'], '--unpriced-block-minutes goes with --unpriced block'],
    [['--project', 'acme', '--name', 'x', '--kind', 'openai', '--credential-from-env', 'OWN_KEY', '--unpriced', 'block', '--unpriced-block-minutes', '0'], '--unpriced-block-minutes must be a whole number of minutes above 0, not "0"'],
    [['--project', 'acme', '--name', 'x', '--kind', 'openai', '--credential-from-env', 'OWN_KEY', '--unpriced', 'block', '--unpriced-block-minutes', '1.5'], '--unpriced-block-minutes must be a whole number of minutes above 0, not "1.5"'],
    [['--project', 'acme', '--name', 'x', '--kind', 'openai'], 'give the credential with --credential-from-env <VAR> or --credential-file <path>, or pipe it on standard input'],
  ])('refuses %j with a usage error, storing nothing', async (args, message) => {
    const result = await tg(['providers', 'add', ...args]);

    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toContain(message);
    expect(await list()).toEqual([]);
  });

  it('refuses an empty or unset credential, naming where it looked', async () => {
    expect(await add('--credential-from-env', 'UNSET_VARIABLE')).toEqual({ code: 1, stdout: '', stderr: 'tollgate: no credential in environment variable UNSET_VARIABLE: it is empty or unset\n' });
    expect(await add('--credential-file', join(dir.path, 'missing'))).toMatchObject({ code: 1, stderr: expect.stringContaining(`cannot read the credential file ${join(dir.path, 'missing')}: ENOENT`) });
  });

  it('refuses a deployed stack’s tables without the stack: its gateway could not open a locally sealed credential', async () => {
    env = { ...env, TOLLGATE_STORE: 'dynamodb', TOLLGATE_KEYS_TABLE: 'K', TOLLGATE_SPEND_TABLE: 'S' };

    const result = await add('--credential-from-env', 'OWN_KEY');

    expect(result).toMatchObject({ code: 2, stderr: expect.stringContaining("a deployed stack's gateway reads project credentials from its Secrets Manager prefix: name the stack (tollgate --stack <name>") });
  });

  it('shows nothing of a credential too short to hide in four characters', async () => {
    env = { ...env, SHORT: 'gsk_12345' };
    await add('--credential-from-env', 'SHORT', '--name', 'groq-acme', '--kind', 'groq');

    expect((await list())[0]?.credentialEndsWith).toBeNull();
    expect((await tg(['providers', 'list'])).stdout).toMatch(/^acme\s+groq-acme\s+groq\s+-\s+sealed \(local\)/m);
  });

  it('shows a service-account JSON by its client_email, never a piece of the JSON', async () => {
    // GIVEN a key file as the Cloud console downloads it (indented, ending in a newline)
    const keyFile = `${JSON.stringify(JSON.parse(createServiceAccount().json), null, 2)}\n`;
    const file = join(dir.path, 'vertex.json');
    writeFileSync(file, keyFile);

    // WHEN it is added, then listed
    const added = await tg(['providers', 'add', '--project', 'acme', '--name', 'vertex-acme', '--kind', 'google-vertex', '--credential-file', file, '--options', '{"project":"acme-ai","location":"us-central1"}']);
    const [listed] = await list();
    const table = (await tg(['providers', 'list'])).stdout;

    // THEN the account is named by its service account, and nothing of the JSON is shown
    expect(added).toMatchObject({ code: 0, stdout: expect.stringContaining(`its credential (service account ${CLIENT_EMAIL}) is stored encrypted`) });
    expect(listed).toMatchObject({ name: 'vertex-acme', credentialEndsWith: null, serviceAccount: CLIENT_EMAIL });
    expect(table).toMatch(new RegExp(`^acme\\s+vertex-acme\\s+google-vertex\\s+${CLIENT_EMAIL.replaceAll('.', '\\.')}\\s+sealed \\(local\\)`, 'm'));
    for (const output of [added.stdout, table]) expect(output).not.toMatch(/"\s*\}|PRIVATE KEY|ending/);
  });

  it('shows nothing of another JSON credential (a Bedrock access key), whose last characters are its secret’s', async () => {
    env = { ...env, AWS_KEY: JSON.stringify({ accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }) };

    await add('--credential-from-env', 'AWS_KEY', '--name', 'bedrock-acme', '--kind', 'bedrock');

    expect((await list())[0]).toMatchObject({ credentialEndsWith: null, serviceAccount: null });
    expect((await tg(['providers', 'list'])).stdout).toMatch(/^acme\s+bedrock-acme\s+bedrock\s+-\s+sealed \(local\)/m);
  });

  it('hides a hint an earlier release cut from a JSON credential', async () => {
    // GIVEN a record stored with the last 4 characters of a service-account JSON, as session 6's CLI stored them
    const store = openSqliteStore({ dataDir: dir.path });
    try {
      await store.createProject({ name: 'acme', createdAt: NOW.toISOString() });
      await store.addProjectAccount({ project: 'acme', name: 'vertex-old', kind: 'google-vertex', options: { project: 'acme-ai', location: 'us-central1' }, credential: { kind: 'secret', secretId: 'tollgate/x/byok/acme/vertex-old-0000' }, hint: 'm"\n}', createdAt: NOW.toISOString() });
    } finally {
      await store.close();
    }

    // THEN the listing shows no hint
    expect((await list())[0]).toMatchObject({ name: 'vertex-old', credentialEndsWith: null, serviceAccount: null });
  });

  it.each([
    [[], 'reject', null, { kind: 'reject' }, 'reject'],
    [['--unpriced', 'reject'], 'reject', null, { kind: 'reject' }, 'reject'],
    [['--unpriced', 'allow'], 'allow', null, { kind: 'allow' }, 'allow'],
    [['--unpriced', 'block'], 'block', 60, { kind: 'block', minutes: 60 }, 'block 60 min'],
    [['--unpriced', 'block', '--unpriced-block-minutes', '15'], 'block', 15, { kind: 'block', minutes: 15 }, 'block 15 min'],
  ])('stores the unpriced policy %j with the account, lists it, and the gateway applies it', async (flags, unpriced, minutes, policy, column) => {
    // WHEN an OpenAI-compatible account that names no pricing provider is added with the flags
    const added = await tg(['providers', 'add', '--project', 'acme', '--name', 'local-llm', '--kind', 'openai-compatible', '--base-url', 'http://10.0.0.7:8000/v1', '--credential-from-env', 'OWN_KEY', ...flags]);

    // THEN it is listed with its policy, as JSON and in the table, and the gateway resolves the account with it
    expect(added).toMatchObject({ code: 0, stderr: '' });
    expect(added.stdout.includes('A model tollgate has no price for is forwarded')).toBe(unpriced !== 'reject');
    expect(await list()).toEqual([expect.objectContaining({ name: 'local-llm', unpriced, unpricedBlockMinutes: minutes })]);
    const table = (await tg(['providers', 'list'])).stdout.split('\n');
    expect(table[0]).toMatch(/\bSTORED\s+UNPRICED\s+BASE URL\b/);
    expect(table[1]).toMatch(new RegExp(`sealed \\(local\\)\\s+${column}\\s+http://10\\.0\\.0\\.7:8000/v1`));
    const store = openSqliteStore({ dataDir: dir.path });
    try {
      const [record] = await store.listProjectAccounts('acme');
      expect(projectAccountSettings(record!).unpriced).toEqual(policy);
    } finally {
      await store.close();
    }
  });

  it('refuses a stored record whose unpriced policy is not one the gateway knows, naming the field', async () => {
    const record = { project: 'acme', name: 'local-llm', kind: 'openai-compatible', baseUrl: 'http://10.0.0.7:8000/v1', credential: { kind: 'sealed' as const, sealed: 'x' }, hint: '', createdAt: '' };

    expect(() => projectAccountSettings({ ...record, unpriced: 'free' as 'allow' })).toThrow('project "acme" provider account local-llm.unpriced: must be one of "reject", "allow", "block", not "free"');
    expect(() => projectAccountSettings({ ...record, unpriced: 'block', unpricedBlockMinutes: -1 })).toThrow('local-llm.unpricedBlockMinutes: must be a whole number of minutes above 0');
  });
});
