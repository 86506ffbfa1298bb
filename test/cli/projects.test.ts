import { openSqliteStore } from '../../lambda/store/sqlite';
import { json, run, tempDir } from './run';

interface Cap {
  nanos: number;
  usd: string;
}

interface ProjectJson {
  name: string;
  createdAt: string;
  mode: 'strict' | 'soft';
  limits: { daily: Cap | null; weekly: Cap | null; monthly: Cap | null; lifetime: Cap | null };
  access: { routes: string[] | null; models: string[] | null };
}

const NOW = new Date('2026-11-27T10:00:00Z');
const NO_CAPS = { daily: null, weekly: null, monthly: null, lifetime: null };

describe('tollgate projects', () => {
  let dir: ReturnType<typeof tempDir>;
  let env: NodeJS.ProcessEnv;

  beforeEach(() => {
    dir = tempDir();
    env = { TOLLGATE_DATA_DIR: dir.path };
  });
  afterEach(() => dir.remove());

  const tg = (...args: string[]) => run(args, env, { clock: () => NOW });

  /** What the gateway will read: the store's own record, in nanos. */
  async function stored(name: string) {
    const store = openSqliteStore({ dataDir: dir.path });
    try {
      return await store.getProject(name);
    } finally {
      await store.close();
    }
  }

  test('create stores exact nano-dollar caps and the mode, and --json shows them', async () => {
    // WHEN
    const result = await tg('projects', 'create', 'acme', '--monthly', '50', '--daily', '0.000000001', '--mode', 'soft', '--json');

    // THEN
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(json<ProjectJson>(result)).toEqual({
      name: 'acme',
      createdAt: NOW.toISOString(),
      mode: 'soft',
      limits: { daily: { nanos: 1, usd: '0.000000001' }, weekly: null, monthly: { nanos: 50_000_000_000, usd: '50.00' }, lifetime: null },
      access: { routes: null, models: null },
    });
    expect(await stored('acme')).toEqual({ name: 'acme', createdAt: NOW.toISOString(), mode: 'soft', limits: { daily: 1, monthly: 50_000_000_000 } });
  });

  test('create without caps is strict with no limits; the human output says so', async () => {
    const result = await tg('projects', 'create', 'acme');
    expect(result).toEqual({ code: 0, stderr: '', stdout: 'Created project "acme" (strict; no caps).\n' });
    expect(await stored('acme')).toEqual({ name: 'acme', createdAt: NOW.toISOString() });
  });

  test('creating an existing project fails and keeps its caps', async () => {
    await tg('projects', 'create', 'acme', '--monthly', '50');
    const again = await tg('projects', 'create', 'acme', '--monthly', '999');
    expect(again).toEqual({ code: 1, stdout: '', stderr: expect.stringContaining('project "acme" already exists') });
    expect((await stored('acme'))?.limits).toEqual({ monthly: 50_000_000_000 });
  });

  test('list shows mode and caps as a table, and --json in nanos and USD', async () => {
    await tg('projects', 'create', 'acme', '--daily', '5', '--monthly', '50');
    await tg('projects', 'create', 'zeta', '--mode', 'soft', '--lifetime', '1000.5');

    const human = await tg('projects', 'list');
    expect(human.code).toBe(0);
    expect(human.stdout.trimEnd().split('\n').map((line) => line.split(/\s{2,}/).map((cell) => cell.trim()))).toEqual([
      ['NAME', 'MODE', 'DAILY', 'WEEKLY', 'MONTHLY', 'LIFETIME', 'CREATED', 'ACCESS'],
      ['acme', 'strict', '$5.00', '-', '$50.00', '-', '2026-11-27 10:00Z', '-'],
      ['zeta', 'soft', '-', '-', '-', '$1000.50', '2026-11-27 10:00Z', '-'],
    ]);

    const listed = json<ProjectJson[]>(await tg('projects', 'list', '--json'));
    expect(listed.map((project) => [project.name, project.mode, project.limits.daily?.nanos ?? null, project.limits.lifetime?.nanos ?? null])).toEqual([
      ['acme', 'strict', 5_000_000_000, null],
      ['zeta', 'soft', null, 1_000_500_000_000],
    ]);
  });

  test('list on an empty store says how to create a project', async () => {
    expect((await tg('projects', 'list')).stdout).toContain('npx tollgate projects create <name>');
    expect(json<unknown[]>(await tg('projects', 'list', '--json'))).toEqual([]);
  });

  test('set-limits changes only the given caps, clears with none, and switches mode', async () => {
    // GIVEN
    await tg('projects', 'create', 'acme', '--daily', '5', '--weekly', '20', '--monthly', '50');

    // WHEN: one cap changed, one cleared, the others left alone
    const changed = await tg('projects', 'set-limits', 'acme', '--monthly', '80', '--daily', 'none', '--json');

    // THEN
    expect(changed.code).toBe(0);
    expect(json<ProjectJson>(changed)).toMatchObject({
      mode: 'strict',
      limits: { daily: null, weekly: { nanos: 20_000_000_000, usd: '20.00' }, monthly: { nanos: 80_000_000_000, usd: '80.00' }, lifetime: null },
    });
    expect(await stored('acme')).toMatchObject({ limits: { weekly: 20_000_000_000, monthly: 80_000_000_000 } });

    // WHEN: the mode alone
    const soft = await tg('projects', 'set-limits', 'acme', '--mode', 'soft');
    expect(soft.stdout).toBe(
      'Project "acme": soft; weekly $20.00, monthly $80.00. Running gateways apply it within their record cache TTL (limits.keyCacheTtlMs, 5 s by default).\n',
    );
    expect(await stored('acme')).toMatchObject({ mode: 'soft', limits: { weekly: 20_000_000_000, monthly: 80_000_000_000 } });
    expect((await stored('acme'))?.limits).not.toHaveProperty('daily');

    // WHEN: every cap cleared, and back to strict
    const cleared = json<ProjectJson>(await tg('projects', 'set-limits', 'acme', '--weekly', 'none', '--monthly', 'none', '--mode', 'strict', '--json'));
    expect(cleared).toMatchObject({ mode: 'strict', limits: NO_CAPS });
    expect(await stored('acme')).toEqual({ name: 'acme', createdAt: NOW.toISOString(), mode: 'strict' });
  });

  test('set-limits on an unknown project exits 1', async () => {
    const result = await tg('projects', 'set-limits', 'nobody', '--daily', '5', '--json');
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'tollgate: no project named "nobody" (see "tollgate projects list")\n' });
  });

  test('bad usage exits 2 with the reason, and changes nothing', async () => {
    await tg('projects', 'create', 'acme', '--daily', '5');
    const cases: [string[], string][] = [
      [['projects', 'create'], 'missing project name'],
      [['projects', 'create', ''], 'must not be empty'],
      [['projects', 'create', 'b', '--daily', '1e3'], '--daily: "1e3" is not a USD amount'],
      [['projects', 'create', 'b', '--daily', '-1'], "option '--daily' argument is ambiguous\n"],
      [['projects', 'create', 'b', '--daily=-1'], '--daily: "-1" is not a USD amount'],
      [['projects', 'create', 'b', '--weekly', '0.0000000001'], 'more than 9 decimal places'],
      [['projects', 'create', 'b', '--monthly', 'none'], '"none" is not a USD amount'],
      [['projects', 'create', 'b', '--mode', 'lenient'], '--mode must be "strict" or "soft", not "lenient"'],
      [['projects', 'create', 'b', 'c'], 'unexpected argument "c"'],
      [['projects', 'set-limits', 'acme'], 'nothing to change'],
      [['projects', 'set-limits', 'acme', '--daily', 'nothing'], 'or "none" to remove the cap'],
      [['projects', 'set-limits'], 'missing project name'],
      [['projects', 'rename'], 'unknown projects command "rename"'],
      [['projects'], 'missing projects command'],
    ];
    for (const [args, reason] of cases) {
      const result = await tg(...args);
      expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(result.stderr).toContain(reason);
      expect(result.stderr).toMatch(/\nRun "tollgate projects( [\w-]+)? --help" for usage\.\n$/);
    }
    expect(json<ProjectJson[]>(await tg('projects', 'list', '--json')).map((project) => project.name)).toEqual(['acme']);
    expect((await stored('acme'))?.limits).toEqual({ daily: 5_000_000_000 });
  });

  test('every projects command has --help', async () => {
    for (const args of [['projects', '--help'], ['projects', 'create', '--help'], ['projects', 'list', '-h'], ['projects', 'set-limits', '--help'], ['help', 'projects']]) {
      const result = await tg(...args);
      expect(result).toMatchObject({ code: 0, stderr: '', stdout: expect.stringMatching(/^Usage: tollgate projects/) });
    }
    expect((await tg('projects', 'set-limits', '--help')).stdout).toContain('"none" removes a cap');
  });
});
