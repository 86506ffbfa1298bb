import { hashKey } from '../../lambda/keys/gateway-key';
import { json, run, tempDir } from './run';

interface CreatedKey {
  key: string;
  id: string;
  prefix: string;
  project: string;
  user: string | null;
  name: string | null;
  createdAt: string;
}

interface ListedKey {
  id: string;
  prefix: string;
  project: string;
  user: string | null;
  name: string | null;
  createdAt: string;
  revokedAt: string | null;
  status: 'active' | 'revoked';
}

const KEY_SHAPE = /^tgk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/;

describe('tollgate keys', () => {
  let dir: ReturnType<typeof tempDir>;
  let env: NodeJS.ProcessEnv;

  beforeEach(() => {
    dir = tempDir();
    env = { TOLLGATE_DATA_DIR: dir.path };
  });
  afterEach(() => dir.remove());

  async function create(...args: string[]): Promise<CreatedKey> {
    const result = await run(['keys', 'create', '--json', ...args], env);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    return json<CreatedKey>(result);
  }

  test('create --json prints the key once, with its public fields', async () => {
    const created = await create('--project', 'acme', '--user', 'ada', '--name', 'ci');
    expect(created).toEqual({
      key: expect.stringMatching(KEY_SHAPE),
      id: created.key.slice(4, 16),
      prefix: created.key.slice(0, 21),
      project: 'acme',
      user: 'ada',
      name: 'ci',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(Object.keys(created)).not.toContain('hash');
  });

  test('create prints the bare key on stdout and the show-once hint on stderr', async () => {
    const result = await run(['keys', 'create', '--project', 'acme'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^${KEY_SHAPE.source.slice(1, -1)}\\n$`));
    expect(result.stderr).toMatch(/cannot be shown again/);
    expect(result.stderr).not.toContain(result.stdout.trim());
  });

  test('list shows id, prefix, project, user, name, created and status, and never a key or hash', async () => {
    const first = await create('--project', 'acme', '--user', 'ada', '--name', 'ci');
    const second = await create('--project', 'zeta');

    const human = await run(['keys', 'list'], env);
    expect(human.code).toBe(0);
    const [header, ...rows] = human.stdout.trimEnd().split('\n');
    expect(header?.split(/\s+/)).toEqual(['ID', 'PREFIX', 'PROJECT', 'USER', 'NAME', 'CREATED', 'STATUS']);
    expect(rows).toHaveLength(2);
    expect(human.stdout).toContain(`${first.prefix}…`);
    expect(rows.find((row) => row.startsWith(first.id))?.split(/\s{2,}/)).toEqual([
      first.id,
      `${first.prefix}…`,
      'acme',
      'ada',
      'ci',
      `${first.createdAt.slice(0, 10)} ${first.createdAt.slice(11, 16)}Z`,
      'active',
    ]);

    const listed = json<ListedKey[]>(await run(['keys', 'list', '--json'], env));
    expect(listed.map((key) => key.id).sort()).toEqual([first.id, second.id].sort());
    expect(listed.find((key) => key.id === second.id)).toEqual({
      id: second.id,
      prefix: second.prefix,
      project: 'zeta',
      user: null,
      name: null,
      createdAt: second.createdAt,
      revokedAt: null,
      status: 'active',
    });

    for (const output of [human.stdout, JSON.stringify(listed)]) {
      for (const { key } of [first, second]) {
        expect(output).not.toContain(key);
        expect(output).not.toContain(key.slice(21));
        expect(output).not.toContain(hashKey(key));
      }
    }
  });

  test('list filters by project and user', async () => {
    const mine = await create('--project', 'acme', '--user', 'ada');
    await create('--project', 'acme', '--user', 'bob');
    await create('--project', 'zeta', '--user', 'ada');

    const both = json<ListedKey[]>(await run(['keys', 'list', '--project', 'acme', '--user', 'ada', '--json'], env));
    expect(both.map((key) => key.id)).toEqual([mine.id]);
    expect(json<ListedKey[]>(await run(['keys', 'list', '--user', 'ada', '--json'], env))).toHaveLength(2);
    expect(json<ListedKey[]>(await run(['keys', 'list', '--project', 'nobody', '--json'], env))).toEqual([]);
    expect((await run(['keys', 'list', '--project', 'nobody'], env)).stdout).toBe('No keys match.\n');
  });

  test('an empty store says how to create a key', async () => {
    const result = await run(['keys', 'list'], env);
    expect(result).toMatchObject({ code: 0, stdout: expect.stringContaining('npx tollgate keys create --project') });
    expect(json<unknown[]>(await run(['keys', 'list', '--json'], env))).toEqual([]);
  });

  test('revoke marks the key revoked, and keeps the first revocation time', async () => {
    const created = await create('--project', 'acme');
    const human = await run(['keys', 'revoke', created.id], env);
    expect(human).toMatchObject({ code: 0, stderr: '' });
    expect(human.stdout).toContain(`Revoked key ${created.id}`);
    expect(human.stdout).not.toContain(created.key);

    const again = json<ListedKey>(await run(['keys', 'revoke', created.id, '--json'], env));
    expect(again).toMatchObject({ id: created.id, status: 'revoked', revokedAt: expect.any(String) });
    const [listed] = json<ListedKey[]>(await run(['keys', 'list', '--json'], env));
    expect(listed).toMatchObject({ status: 'revoked', revokedAt: again.revokedAt });
    expect((await run(['keys', 'list'], env)).stdout).toMatch(/\brevoked\n$/);
  });

  test('revoke accepts the whole key, and never echoes it', async () => {
    const created = await create('--project', 'acme');
    const result = await run(['keys', 'revoke', created.key, '--json'], env);
    expect(result.code).toBe(0);
    expect(json<ListedKey>(result)).toMatchObject({ id: created.id, status: 'revoked' });
    expect(result.stdout + result.stderr).not.toContain(created.key);
  });

  test('revoke of an unknown id exits 1 with a clear message and no stdout', async () => {
    for (const args of [['keys', 'revoke', 'feedfacecafe'], ['keys', 'revoke', 'feedfacecafe', '--json']]) {
      const result = await run(args, env);
      expect(result).toEqual({ code: 1, stdout: '', stderr: expect.stringContaining('no key with id "feedfacecafe"') });
    }
  });

  test('bad usage exits 2 with the reason on stderr', async () => {
    const cases: string[][] = [
      ['keys', 'create'],
      ['keys', 'create', '--project', ''],
      ['keys', 'create', '--project', 'acme', '--projct', 'x'],
      ['keys', 'list', 'extra'],
      ['keys', 'revoke'],
      ['keys', 'revoke', 'a', 'b'],
      ['keys', 'rotate'],
      ['keys'],
    ];
    for (const args of cases) {
      const result = await run(args, env);
      expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(result.stderr).toMatch(/^tollgate: .+\nRun "tollgate keys( \w+)? --help" for usage\.\n$/);
    }
    expect((await run(['keys', 'create', '--projct', 'x'], env)).stderr).toContain("unknown option '--projct'");
  });

  test('every keys command has --help', async () => {
    for (const args of [['keys', '--help'], ['keys', 'create', '--help'], ['keys', 'list', '-h'], ['keys', 'revoke', '--help']]) {
      const result = await run(args, env);
      expect(result).toMatchObject({ code: 0, stderr: '', stdout: expect.stringMatching(/^Usage: tollgate keys/) });
    }
  });
});
