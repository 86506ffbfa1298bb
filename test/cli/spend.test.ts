import { openSqliteStore } from '../../lambda/store/sqlite';
import type { Claim, Scope } from '../../lambda/store/port';
import { json, run, tempDir, type Run } from './run';

interface SpendRow {
  scope: Scope;
  period: string;
  kind: string;
  nanos: number;
  usd: string;
  reservedNanos: number;
  reservedUsd: string;
  requests: number;
  capNanos: number | null;
  capUsd: string | null;
  usedPercent: number | null;
  resetsAt: string | null;
}

/** A Friday: its week began on Monday 2026-11-23. */
const NOW = new Date('2026-11-27T10:00:00Z');

describe('tollgate spend', () => {
  let dir: ReturnType<typeof tempDir>;
  let env: NodeJS.ProcessEnv;
  let clock: Date;
  let key: string;
  let keyId: string;
  let reservations = 0;

  const tg = (...args: string[]): Promise<Run> => run(args, env, { clock: () => clock });

  beforeEach(async () => {
    dir = tempDir();
    env = { TOLLGATE_DATA_DIR: dir.path };
    clock = NOW;
    const created = json<{ key: string; id: string }>(await tg('keys', 'create', '--project', 'acme', '--user', 'ada', '--json'));
    key = created.key;
    keyId = created.id;
  });
  afterEach(() => dir.remove());

  const scopes = (): Scope[] => [
    { kind: 'key', id: keyId },
    { kind: 'project', id: 'acme' },
    { kind: 'user', id: 'ada' },
  ];

  /**
   * Straight into the same SQLite file the CLI reads, as the gateway would: reserve, then
   * settle unless `hold` (a request still in flight, holding its claims).
   */
  async function record(nanos: number, at: Date, options: { hold?: readonly Claim[] } = {}): Promise<void> {
    const store = openSqliteStore({ dataDir: dir.path });
    try {
      const reservation = {
        id: `r-${++reservations}`,
        at,
        scopes: scopes(),
        claims: options.hold ?? [],
        estimateNanos: nanos,
        expiresAt: new Date(at.getTime() + 60_000),
      };
      expect(await store.reserve(reservation)).toMatchObject({ ok: true });
      if (!options.hold) await store.settle(reservation, nanos);
    } finally {
      await store.close();
    }
  }

  /** The table split into cells. */
  function table(result: Run): string[][] {
    expect(result).toMatchObject({ code: 0, stderr: '' });
    return result.stdout.trimEnd().split('\n').map((line) => line.trim().split(/\s+/));
  }

  describe('against caps', () => {
    beforeEach(async () => {
      // GIVEN caps at every scope, $0.007375 settled and $0.002 still held against the project's month
      await tg('projects', 'set-limits', 'acme', '--daily', '5', '--monthly', '50');
      await tg('users', 'set-limits', 'ada', '--weekly', '1');
      await tg('keys', 'set-limits', keyId, '--lifetime', '0.01');
      await record(7_375_000, new Date('2026-11-27T09:00:00Z'));
      const held: Claim = { scope: { kind: 'project', id: 'acme' }, period: 'month:2026-11', unit: 'nanos', amount: 2_000_000, limit: 50_000_000_000, rule: 'within' };
      await record(2_000_000, new Date('2026-11-27T09:30:00Z'), { hold: [held] });
    });

    test('the table shows spent, reserved, cap, % used and reset for each scope × current period', async () => {
      expect(table(await tg('spend'))).toEqual([
        ['SCOPE', 'PERIOD', 'SPENT', 'RESERVED', 'CAP', 'USED', 'REQUESTS', 'RESETS'],
        ['project:acme', 'day:2026-11-27', '$0.007375', '$0.00', '$5.00', '0.1%', '1', '2026-11-28T00:00:00Z'],
        ['project:acme', 'week:2026-11-23', '$0.007375', '$0.00', '-', '-', '1', '2026-11-30T00:00:00Z'],
        ['project:acme', 'month:2026-11', '$0.007375', '$0.002', '$50.00', '0.0%', '1', '2026-12-01T00:00:00Z'],
        ['project:acme', 'lifetime', '$0.007375', '$0.00', '-', '-', '1', 'never'],
        ['user:ada', 'day:2026-11-27', '$0.007375', '$0.00', '-', '-', '1', '2026-11-28T00:00:00Z'],
        ['user:ada', 'week:2026-11-23', '$0.007375', '$0.00', '$1.00', '0.7%', '1', '2026-11-30T00:00:00Z'],
        ['user:ada', 'month:2026-11', '$0.007375', '$0.00', '-', '-', '1', '2026-12-01T00:00:00Z'],
        ['user:ada', 'lifetime', '$0.007375', '$0.00', '-', '-', '1', 'never'],
        [`key:${keyId}`, 'day:2026-11-27', '$0.007375', '$0.00', '-', '-', '1', '2026-11-28T00:00:00Z'],
        [`key:${keyId}`, 'week:2026-11-23', '$0.007375', '$0.00', '-', '-', '1', '2026-11-30T00:00:00Z'],
        [`key:${keyId}`, 'month:2026-11', '$0.007375', '$0.00', '-', '-', '1', '2026-12-01T00:00:00Z'],
        [`key:${keyId}`, 'lifetime', '$0.007375', '$0.00', '$0.01', '73.7%', '1', 'never'],
      ]);
    });

    test('--json has exact nanos for spent, reserved and cap, and a null reset for lifetime', async () => {
      const rows = json<SpendRow[]>(await tg('spend', '--json'));
      expect(rows).toHaveLength(12);
      expect(rows.find((row) => row.scope.kind === 'project' && row.kind === 'month')).toEqual({
        scope: { kind: 'project', id: 'acme' },
        period: 'month:2026-11',
        kind: 'month',
        nanos: 7_375_000,
        usd: '0.007375',
        reservedNanos: 2_000_000,
        reservedUsd: '0.002',
        requests: 1,
        capNanos: 50_000_000_000,
        capUsd: '50.00',
        usedPercent: 0,
        resetsAt: '2026-12-01T00:00:00Z',
      });
      expect(rows.find((row) => row.scope.kind === 'key' && row.kind === 'lifetime')).toMatchObject({
        capNanos: 10_000_000,
        capUsd: '0.01',
        usedPercent: 73.7,
        resetsAt: null,
      });
      expect(rows.find((row) => row.scope.kind === 'project' && row.kind === 'week')).toMatchObject({ capNanos: null, capUsd: null, usedPercent: null, resetsAt: '2026-11-30T00:00:00Z' });
    });

    test('% used counts what is reserved, rounds down, and shows an overshoot', async () => {
      // A strict cap compares settled + reserved, so the held $0.002 counts: (0.007375 + 0.002) / 0.01 = 93.75%
      await tg('projects', 'set-limits', 'acme', '--monthly', '0.01');
      const month = async () => json<SpendRow[]>(await tg('spend', '--project', 'acme', '--period', 'month', '--json'))[0];
      expect(await month()).toMatchObject({ usedPercent: 93.7 });

      // Settled spend can pass a cap (a soft cap admits while settled spend is under it): shown as is.
      await record(5_000_000, new Date('2026-11-27T09:45:00Z'));
      expect(await month()).toMatchObject({ nanos: 12_375_000, usedPercent: 143.7 });
      expect(table(await tg('spend', '--project', 'acme', '--period', 'month'))[1]).toEqual([
        'project:acme',
        'month:2026-11',
        '$0.012375',
        '$0.002',
        '$0.01',
        '143.7%',
        '2',
        '2026-12-01T00:00:00Z',
      ]);
    });

    test('a cap of zero reads as used up', async () => {
      await tg('users', 'set-limits', 'ada', '--daily', '0');
      expect(json<SpendRow[]>(await tg('spend', '--user', 'ada', '--period', 'day', '--json'))).toEqual([
        expect.objectContaining({ capNanos: 0, capUsd: '0.00', usedPercent: 100 }),
      ]);
    });

    test('a new period starts from zero against its cap, at UTC midnight and on the 1st', async () => {
      // WHEN the clock reaches December
      clock = new Date('2026-12-01T00:00:00Z');
      const rows = json<SpendRow[]>(await tg('spend', '--project', 'acme', '--json'));

      // THEN the capped day and month are new and empty, the uncapped week has no row, lifetime keeps it all
      expect(rows.map((row) => [row.period, row.nanos, row.capUsd, row.usedPercent, row.resetsAt])).toEqual([
        ['day:2026-12-01', 0, '5.00', 0, '2026-12-02T00:00:00Z'],
        ['month:2026-12', 0, '50.00', 0, '2027-01-01T00:00:00Z'],
        ['lifetime', 7_375_000, null, null, null],
      ]);
    });

    test('--key covers the key and the user and project whose caps also apply to it', async () => {
      const rows = json<SpendRow[]>(await tg('spend', '--key', keyId, '--json'));
      expect([...new Set(rows.map((row) => `${row.scope.kind}:${row.scope.id}`))]).toEqual(['project:acme', 'user:ada', `key:${keyId}`]);
      expect(rows.filter((row) => row.capNanos !== null).map((row) => `${row.scope.kind} ${row.kind} ${row.capUsd}`)).toEqual([
        'project day 5.00',
        'project month 50.00',
        'user week 1.00',
        'key lifetime 0.01',
      ]);
    });

    test('--history lists past periods too, newest first, with caps only on the current ones', async () => {
      await record(1, new Date('2026-10-31T23:59:59Z'));
      const rows = json<SpendRow[]>(await tg('spend', '--history', '--project', 'acme', '--json'));
      expect(rows.map((row) => [row.period, row.nanos, row.capUsd, row.resetsAt])).toEqual([
        ['day:2026-11-27', 7_375_000, '5.00', '2026-11-28T00:00:00Z'],
        ['day:2026-10-31', 1, null, null],
        ['week:2026-11-23', 7_375_000, null, '2026-11-30T00:00:00Z'],
        ['week:2026-10-26', 1, null, null],
        ['month:2026-11', 7_375_000, '50.00', '2026-12-01T00:00:00Z'],
        ['month:2026-10', 1, null, null],
        ['lifetime', 7_375_001, null, null],
      ]);
      expect(table(await tg('spend', '--history', '--project', 'acme', '--period', 'month'))).toEqual([
        ['SCOPE', 'PERIOD', 'SPENT', 'RESERVED', 'CAP', 'USED', 'REQUESTS', 'RESETS'],
        ['project:acme', 'month:2026-11', '$0.007375', '$0.002', '$50.00', '0.0%', '1', '2026-12-01T00:00:00Z'],
        ['project:acme', 'month:2026-10', '$0.000000001', '$0.00', '-', '-', '1', '-'],
      ]);
    });
  });

  test('sums without floats', async () => {
    await record(7_375_000, new Date('2026-11-27T08:00:00Z'));
    await record(1, new Date('2026-11-27T09:00:00Z'));
    const rows = json<SpendRow[]>(await tg('spend', '--key', keyId, '--period', 'lifetime', '--json'));
    expect(rows.map((row) => [row.scope.kind, row.nanos, row.usd, row.requests])).toEqual([
      ['project', 7_375_001, '0.007375001', 2],
      ['user', 7_375_001, '0.007375001', 2],
      ['key', 7_375_001, '0.007375001', 2],
    ]);
  });

  test('caps with nothing spent yet are shown; scopes with neither caps nor spend are not', async () => {
    await tg('projects', 'create', 'zeta', '--monthly', '10');
    await tg('projects', 'create', 'idle');
    expect(table(await tg('spend'))).toEqual([
      ['SCOPE', 'PERIOD', 'SPENT', 'RESERVED', 'CAP', 'USED', 'REQUESTS', 'RESETS'],
      ['project:zeta', 'month:2026-11', '$0.00', '$0.00', '$10.00', '0.0%', '0', '2026-12-01T00:00:00Z'],
    ]);
  });

  test('an empty report says so', async () => {
    expect(await tg('spend')).toEqual({ code: 0, stderr: '', stdout: 'No spend recorded and no caps set.\n' });
    expect(await tg('spend', '--history')).toEqual({ code: 0, stderr: '', stdout: 'No spend recorded.\n' });
    expect(json<unknown[]>(await tg('spend', '--json'))).toEqual([]);
    expect(json<unknown[]>(await tg('spend', '--project', 'acme', '--json'))).toEqual([]);
  });

  test('unknown keys, projects and users exit 1', async () => {
    for (const [flag, id, message] of [
      ['--key', 'feedfacecafe', 'no key with id "feedfacecafe"'],
      ['--project', 'nobody', 'no project named "nobody"'],
      ['--user', 'nobody', 'no user named "nobody"'],
    ] as const) {
      expect(await tg('spend', flag, id, '--json')).toEqual({ code: 1, stdout: '', stderr: expect.stringContaining(message) });
    }
  });

  test('never shows a key', async () => {
    await record(7_375_000, NOW);
    for (const args of [['spend'], ['spend', '--json'], ['spend', '--key', keyId], ['spend', '--history', '--json']]) {
      const result = await tg(...args);
      expect(result.code).toBe(0);
      expect(result.stdout + result.stderr).not.toContain(key);
      expect(result.stdout + result.stderr).not.toContain(key.slice(21));
    }
  });

  test('bad usage exits 2', async () => {
    for (const args of [['spend', '--key', keyId, '--project', 'acme'], ['spend', '--period', 'year'], ['spend', '--all'], ['spend', 'acme'], ['spend', '--user', '']]) {
      const result = await tg(...args);
      expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(result.stderr).toContain('tollgate spend --help');
    }
  });

  test('--help describes the columns', async () => {
    const result = await tg('spend', '--help');
    expect(result).toMatchObject({ code: 0, stderr: '', stdout: expect.stringMatching(/^Usage: tollgate spend/) });
    expect(result.stdout).toContain('--history');
    expect(result.stdout).toContain('Monday 00:00 UTC');
  });
});
