import { openSqliteStore } from '../../lambda/store/sqlite';
import { json, run, tempDir } from './run';

interface Cap {
  nanos: number;
  usd: string;
}

interface UserJson {
  name: string;
  createdAt: string;
  limits: { daily: Cap | null; weekly: Cap | null; monthly: Cap | null; lifetime: Cap | null };
}

const NOW = new Date('2026-11-27T10:00:00Z');

describe('tollgate users', () => {
  let dir: ReturnType<typeof tempDir>;
  let env: NodeJS.ProcessEnv;

  beforeEach(() => {
    dir = tempDir();
    env = { TOLLGATE_DATA_DIR: dir.path };
  });
  afterEach(() => dir.remove());

  const tg = (...args: string[]) => run(args, env, { clock: () => NOW });

  async function stored(name: string) {
    const store = openSqliteStore({ dataDir: dir.path });
    try {
      return await store.getUser(name);
    } finally {
      await store.close();
    }
  }

  test('create stores exact caps; --json shows nanos and USD', async () => {
    const result = await tg('users', 'create', 'ada', '--daily', '2', '--monthly', '20.25', '--json');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(json<UserJson>(result)).toEqual({
      name: 'ada',
      createdAt: NOW.toISOString(),
      limits: { daily: { nanos: 2_000_000_000, usd: '2.00' }, weekly: null, monthly: { nanos: 20_250_000_000, usd: '20.25' }, lifetime: null },
    });
    expect(await stored('ada')).toEqual({ name: 'ada', createdAt: NOW.toISOString(), limits: { daily: 2_000_000_000, monthly: 20_250_000_000 } });
  });

  test('the human output says the caps span all of the user\'s keys', async () => {
    const result = await tg('users', 'create', 'ada', '--weekly', '10');
    expect(result).toEqual({ code: 0, stderr: '', stdout: 'Created user "ada" (weekly $10.00). Their caps apply across all of their keys.\n' });
  });

  test('creating an existing user fails and keeps their caps', async () => {
    await tg('users', 'create', 'ada', '--daily', '2');
    expect(await tg('users', 'create', 'ada')).toEqual({ code: 1, stdout: '', stderr: expect.stringContaining('user "ada" already exists') });
    expect((await stored('ada'))?.limits).toEqual({ daily: 2_000_000_000 });
  });

  test('a user created by "keys create --user" is listed, with no caps', async () => {
    await tg('keys', 'create', '--project', 'acme', '--user', 'bob', '--json');
    await tg('users', 'create', 'ada', '--lifetime', '100');
    const human = await tg('users', 'list');
    expect(human.stdout.trimEnd().split('\n').map((line) => line.split(/\s{2,}/).map((cell) => cell.trim()))).toEqual([
      ['NAME', 'DAILY', 'WEEKLY', 'MONTHLY', 'LIFETIME', 'CREATED'],
      ['ada', '-', '-', '-', '$100.00', '2026-11-27 10:00Z'],
      ['bob', '-', '-', '-', '-', '2026-11-27 10:00Z'],
    ]);
    const listed = json<UserJson[]>(await tg('users', 'list', '--json'));
    expect(listed.map((user) => [user.name, user.limits.lifetime?.nanos ?? null])).toEqual([
      ['ada', 100_000_000_000],
      ['bob', null],
    ]);
  });

  test('list on an empty store says how to create a user', async () => {
    expect((await tg('users', 'list')).stdout).toContain('npx tollgate users create <name>');
    expect(json<unknown[]>(await tg('users', 'list', '--json'))).toEqual([]);
  });

  test('set-limits read-modify-writes the caps: changes, clears with none, keeps the rest', async () => {
    await tg('users', 'create', 'ada', '--daily', '2', '--monthly', '20');

    const changed = json<UserJson>(await tg('users', 'set-limits', 'ada', '--daily', 'none', '--weekly', '7.5', '--json'));
    expect(changed.limits).toEqual({ daily: null, weekly: { nanos: 7_500_000_000, usd: '7.50' }, monthly: { nanos: 20_000_000_000, usd: '20.00' }, lifetime: null });
    expect((await stored('ada'))?.limits).toEqual({ weekly: 7_500_000_000, monthly: 20_000_000_000 });

    const human = await tg('users', 'set-limits', 'ada', '--weekly', 'none', '--monthly', 'none');
    expect(human.stdout).toMatch(/^User "ada": no caps\. Running gateways apply it within/);
    expect(await stored('ada')).toEqual({ name: 'ada', createdAt: NOW.toISOString() });
  });

  test('set-limits on an unknown user exits 1', async () => {
    expect(await tg('users', 'set-limits', 'nobody', '--daily', '1')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'tollgate: no user named "nobody" (see "tollgate users list")\n',
    });
  });

  test('bad usage exits 2', async () => {
    await tg('users', 'create', 'ada');
    const cases: [string[], string][] = [
      [['users', 'create'], 'missing user name'],
      [['users', 'create', 'b', '--daily', '1e3'], 'not a USD amount'],
      [['users', 'create', 'b', '--mode', 'soft'], "unknown option '--mode'"],
      [['users', 'set-limits', 'ada'], 'nothing to change'],
      [['users', 'set-limits', 'ada', '--daily', '1.0000000001'], 'more than 9 decimal places'],
      [['users', 'delete', 'ada'], 'unknown users command "delete"'],
    ];
    for (const [args, reason] of cases) {
      const result = await tg(...args);
      expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(result.stderr).toContain(reason);
    }
    expect(json<UserJson[]>(await tg('users', 'list', '--json')).map((user) => user.name)).toEqual(['ada']);
  });

  test('every users command has --help', async () => {
    for (const args of [['users', '--help'], ['users', 'create', '--help'], ['users', 'list', '-h'], ['users', 'set-limits', '--help'], ['help', 'users']]) {
      const result = await tg(...args);
      expect(result).toMatchObject({ code: 0, stderr: '', stdout: expect.stringMatching(/^Usage: tollgate users/) });
    }
  });
});
