import { openSqliteStore } from '../../lambda/store/sqlite';
import type { Scope } from '../../lambda/store/port';
import { json, run, tempDir } from './run';

interface SpendRow {
  scope: Scope;
  period: string;
  nanos: number;
  usd: string;
  requests: number;
}

describe('tollgate spend', () => {
  let dir: ReturnType<typeof tempDir>;
  let env: NodeJS.ProcessEnv;
  let key: string;
  let keyId: string;

  beforeEach(async () => {
    dir = tempDir();
    env = { TOLLGATE_DATA_DIR: dir.path };
    const created = json<{ key: string; id: string }>(await run(['keys', 'create', '--project', 'acme', '--user', 'ada', '--json'], env));
    key = created.key;
    keyId = created.id;
  });
  afterEach(() => dir.remove());

  /** Straight into the same SQLite file the CLI reads, as the gateway would record it. */
  async function record(nanos: number, at: Date): Promise<void> {
    const store = openSqliteStore({ dataDir: dir.path });
    try {
      const reservation = {
        id: `r-${nanos}-${at.getTime()}`,
        at,
        scopes: [{ kind: 'key', id: keyId }, { kind: 'project', id: 'acme' }, { kind: 'user', id: 'ada' }] as const,
        claims: [],
        estimateNanos: nanos,
        expiresAt: new Date(at.getTime() + 60_000),
      };
      await store.reserve(reservation);
      await store.settle(reservation, nanos);
    } finally {
      await store.close();
    }
  }

  test('--json has every scope × period, with exact USD', async () => {
    await record(7_375_000, new Date('2026-11-27T10:00:00Z'));
    const result = await run(['spend', '--json'], env);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const rows = json<SpendRow[]>(result);
    expect(rows).toHaveLength(12);
    for (const row of rows) expect(row).toMatchObject({ nanos: 7_375_000, usd: '0.007375', requests: 1 });
    expect(rows.slice(0, 4)).toEqual(
      ['day:2026-11-27', 'week:2026-11-23', 'month:2026-11', 'lifetime'].map((period) => ({
        scope: { kind: 'project', id: 'acme' },
        period,
        nanos: 7_375_000,
        usd: '0.007375',
        requests: 1,
      })),
    );
    expect(rows.map((row) => row.scope.kind)).toEqual([...Array(4).fill('project'), ...Array(4).fill('user'), ...Array(4).fill('key')]);
  });

  test('the table shows scope, period, USD and requests, and sums without floats', async () => {
    await record(7_375_000, new Date('2026-11-27T10:00:00Z'));
    await record(1, new Date('2026-11-28T10:00:00Z'));
    const result = await run(['spend', '--key', keyId], env);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n').map((line) => line.split(/\s+/));
    expect(lines).toEqual([
      ['SCOPE', 'PERIOD', 'USD', 'REQUESTS'],
      [`key:${keyId}`, 'day:2026-11-28', '$0.000000001', '1'],
      [`key:${keyId}`, 'day:2026-11-27', '$0.007375', '1'],
      [`key:${keyId}`, 'week:2026-11-23', '$0.007375001', '2'],
      [`key:${keyId}`, 'month:2026-11', '$0.007375001', '2'],
      [`key:${keyId}`, 'lifetime', '$0.007375001', '2'],
    ]);
  });

  test('filters by project, user, key and period', async () => {
    await record(7_375_000, new Date('2026-11-27T10:00:00Z'));
    const scopes = async (args: string[]) => json<SpendRow[]>(await run(['spend', '--json', ...args], env)).map((row) => `${row.scope.kind}:${row.scope.id} ${row.period}`);
    expect(await scopes(['--project', 'acme'])).toEqual(['project:acme day:2026-11-27', 'project:acme week:2026-11-23', 'project:acme month:2026-11', 'project:acme lifetime']);
    expect(await scopes(['--user', 'ada', '--period', 'month'])).toEqual(['user:ada month:2026-11']);
    expect(await scopes(['--key', keyId, '--period', 'lifetime'])).toEqual([`key:${keyId} lifetime`]);
    expect(await scopes(['--project', 'nobody'])).toEqual([]);
    expect((await run(['spend', '--project', 'nobody'], env)).stdout).toBe('No spend recorded.\n');
  });

  test('never shows a key', async () => {
    await record(7_375_000, new Date());
    for (const args of [['spend'], ['spend', '--json'], ['spend', '--key', keyId]]) {
      const result = await run(args, env);
      expect(result.stdout + result.stderr).not.toContain(key);
    }
  });

  test('bad usage exits 2', async () => {
    for (const args of [['spend', '--key', keyId, '--project', 'acme'], ['spend', '--period', 'year'], ['spend', '--all'], ['spend', 'acme']]) {
      const result = await run(args, env);
      expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(result.stderr).toContain('tollgate spend --help');
    }
  });
});
