import { hashKey } from '../../lambda/keys/gateway-key';
import type { KeyPatch, KeyRecord } from '../../lambda/store/port';
import { openSqliteStore } from '../../lambda/store/sqlite';
import { json, run, tempDir, type Run } from './run';

interface Cap {
  nanos: number;
  usd: string;
}

interface ListedKey {
  id: string;
  prefix: string;
  project: string;
  user: string | null;
  name: string | null;
  createdAt: string;
  status: 'active' | 'disabled' | 'revoked' | 'expired' | 'blocked';
  revokedAt: string | null;
  disabledAt: string | null;
  expiresAt: string | null;
  blockedUntil: string | null;
  limits: { daily: Cap | null; weekly: Cap | null; monthly: Cap | null; lifetime: Cap | null };
  rateLimits: { requestsPerMinute: number | null; concurrent: number | null };
  access: { routes: string[] | null; models: string[] | null };
}

interface CreatedKey extends ListedKey {
  key: string;
}

const KEY_SHAPE = /^tgk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/;
const NOW = new Date('2026-11-27T10:00:00Z');
const NO_CAPS = { daily: null, weekly: null, monthly: null, lifetime: null };
const DELAY = 'Running gateways apply it within their record cache TTL (limits.keyCacheTtlMs, 5 s by default).';

describe('tollgate keys', () => {
  let dir: ReturnType<typeof tempDir>;
  let env: NodeJS.ProcessEnv;
  let clock: Date;
  /** Every output of every command in a test, to check that no key ever leaks after creation. */
  let outputs: string[];

  beforeEach(() => {
    dir = tempDir();
    env = { TOLLGATE_DATA_DIR: dir.path };
    clock = NOW;
    outputs = [];
  });
  afterEach(() => dir.remove());

  async function tg(...args: string[]): Promise<Run> {
    const result = await run(args, env, { clock: () => clock });
    if (!(args[0] === 'keys' && args[1] === 'create')) outputs.push(result.stdout + result.stderr);
    return result;
  }

  async function create(...args: string[]): Promise<CreatedKey> {
    const result = await tg('keys', 'create', '--json', ...args);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    return json<CreatedKey>(result);
  }

  async function listed(id: string): Promise<ListedKey | undefined> {
    return json<ListedKey[]>(await tg('keys', 'list', '--json')).find((key) => key.id === id);
  }

  /** The record the gateway reads. */
  async function stored(id: string): Promise<KeyRecord | undefined> {
    const store = openSqliteStore({ dataDir: dir.path });
    try {
      return await store.getKey(id);
    } finally {
      await store.close();
    }
  }

  async function patch(id: string, change: KeyPatch): Promise<void> {
    const store = openSqliteStore({ dataDir: dir.path });
    try {
      await store.updateKey(id, change);
    } finally {
      await store.close();
    }
  }

  function expectNoKeyLeaked(...created: CreatedKey[]): void {
    for (const output of outputs) {
      for (const { key } of created) {
        expect(output).not.toContain(key);
        expect(output).not.toContain(key.slice(21));
        expect(output).not.toContain(hashKey(key));
      }
    }
  }

  describe('create', () => {
    test('--json prints the key once, with its public fields, status and limits', async () => {
      const created = await create('--project', 'acme', '--user', 'ada', '--name', 'ci');
      expect(created).toEqual({
        key: expect.stringMatching(KEY_SHAPE),
        id: created.key.slice(4, 16),
        prefix: created.key.slice(0, 21),
        project: 'acme',
        user: 'ada',
        name: 'ci',
        createdAt: NOW.toISOString(),
        status: 'active',
        revokedAt: null,
        disabledAt: null,
        expiresAt: null,
        blockedUntil: null,
        limits: NO_CAPS,
        rateLimits: { requestsPerMinute: null, concurrent: null },
        access: { routes: null, models: null },
      });
      expect(Object.keys(created)).not.toContain('hash');
    });

    test('prints the bare key on stdout and the show-once hint, with its limits, on stderr', async () => {
      const result = await tg('keys', 'create', '--project', 'acme', '--daily', '5', '--rpm', '60', '--expires', '30d');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^${KEY_SHAPE.source.slice(1, -1)}\\n$`));
      expect(result.stderr).toMatch(/cannot be shown again/);
      expect(result.stderr).toContain('(daily $5.00, 60 rpm, expires 2026-12-27 10:00Z)');
      expect(result.stderr).not.toContain(result.stdout.trim());
    });

    test('says which store the key went to: without --stack, the local SQLite file, with the flag a deployed stack would need', async () => {
      const result = await tg('keys', 'create', '--project', 'acme');
      expect(result.code).toBe(0);
      expect(result.stderr).toContain(`Stored in the local SQLite store in ${env['TOLLGATE_DATA_DIR']}/, which only \`tollgate serve\` reads (for a deployed stack, put --stack <name> --region <region> before the command).`);
    });

    test('caps, rate limits and expiry are in the record from the start, in exact nanos', async () => {
      // WHEN
      const created = await create('--project', 'acme', '--daily', '0.000000001', '--weekly', '10', '--monthly', '50', '--lifetime', '500.123456789', '--rpm', '60', '--concurrent', '4', '--expires', '12h');

      // THEN
      expect(created).toMatchObject({
        expiresAt: '2026-11-27T22:00:00.000Z',
        limits: {
          daily: { nanos: 1, usd: '0.000000001' },
          weekly: { nanos: 10_000_000_000, usd: '10.00' },
          monthly: { nanos: 50_000_000_000, usd: '50.00' },
          lifetime: { nanos: 500_123_456_789, usd: '500.123456789' },
        },
        rateLimits: { requestsPerMinute: 60, concurrent: 4 },
      });
      expect(await stored(created.id)).toMatchObject({
        expiresAt: '2026-11-27T22:00:00.000Z',
        limits: { daily: 1, weekly: 10_000_000_000, monthly: 50_000_000_000, lifetime: 500_123_456_789 },
        rateLimits: { requestsPerMinute: 60, concurrent: 4 },
      });
    });

    test('a key with no limits stores none', async () => {
      const created = await create('--project', 'acme');
      const record = await stored(created.id);
      expect(record).not.toHaveProperty('limits');
      expect(record).not.toHaveProperty('rateLimits');
      expect(record).not.toHaveProperty('expiresAt');
    });

    test.each([
      ['90m', '2026-11-27T11:30:00.000Z'],
      ['12h', '2026-11-27T22:00:00.000Z'],
      ['30d', '2026-12-27T10:00:00.000Z'],
      ['2w', '2026-12-11T10:00:00.000Z'],
      ['2026-12-31', '2026-12-31T00:00:00.000Z'],
      ['2028-02-29', '2028-02-29T00:00:00.000Z'],
      ['2026-12-31T18:30:00Z', '2026-12-31T18:30:00.000Z'],
      ['2026-12-31T18:30Z', '2026-12-31T18:30:00.000Z'],
      ['2026-12-31T18:30:00.250+02:00', '2026-12-31T16:30:00.250Z'],
    ])('--expires %s is %s', async (given, expected) => {
      expect((await create('--project', 'acme', '--expires', given)).expiresAt).toBe(expected);
    });

    test.each([
      ['2026-02-30', 'must be a duration from now'],
      ['2026-13-01', 'must be a duration from now'],
      ['2026-12-31T18:00:00', 'must be a duration from now'], // no zone: whose 18:00?
      ['2026-12-31T24:00:00Z', 'must be a duration from now'],
      ['2026-12-31T18:00:00+25:00', 'must be a duration from now'],
      ['31/12/2026', 'must be a duration from now'],
      ['30', 'must be a duration from now'],
      ['30y', 'must be a duration from now'],
      ['0d', 'must be a duration from now'],
      ['-1d', "argument is ambiguous"],
      ['none', 'must be a duration from now'],
      ['2026-11-27', 'is not in the future'],
      ['2026-11-27T10:00:00Z', 'is not in the future'],
      ['2020-01-01', 'is not in the future'],
    ])('--expires %s is refused', async (given, reason) => {
      const result = await tg('keys', 'create', '--project', 'acme', '--expires', given);
      expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 2, stdout: '' });
      expect(result.stderr).toContain(reason);
      expect(json<unknown[]>(await tg('keys', 'list', '--json'))).toEqual([]);
    });
  });

  describe('list', () => {
    test('shows id, prefix, project, user, name, created, status and limits, and never a key or hash', async () => {
      const first = await create('--project', 'acme', '--user', 'ada', '--name', 'ci', '--daily', '5', '--rpm', '60', '--expires', '2026-12-31');
      const second = await create('--project', 'zeta');

      const human = await tg('keys', 'list');
      expect(human.code).toBe(0);
      const [header, ...rows] = human.stdout.trimEnd().split('\n');
      expect(header?.split(/\s+/)).toEqual(['ID', 'PREFIX', 'PROJECT', 'USER', 'NAME', 'CREATED', 'STATUS', 'LIMITS', 'ACCESS']);
      expect(rows).toHaveLength(2);
      expect(rows.find((row) => row.startsWith(first.id))?.split(/\s{2,}/)).toEqual([
        first.id,
        `${first.prefix}…`,
        'acme',
        'ada',
        'ci',
        '2026-11-27 10:00Z',
        'active',
        'daily $5.00, 60 rpm, expires 2026-12-31 00:00Z',
        '-',
      ]);
      expect(rows.find((row) => row.startsWith(second.id))?.split(/\s{2,}/)).toEqual([second.id, `${second.prefix}…`, 'zeta', '-', '-', '2026-11-27 10:00Z', 'active', '-', '-']);

      const { key: _key, ...secondView } = second;
      expect(await listed(second.id)).toEqual(secondView);
      expectNoKeyLeaked(first, second);
    });

    test('filters by project and user', async () => {
      const mine = await create('--project', 'acme', '--user', 'ada');
      await create('--project', 'acme', '--user', 'bob');
      await create('--project', 'zeta', '--user', 'ada');

      const both = json<ListedKey[]>(await tg('keys', 'list', '--project', 'acme', '--user', 'ada', '--json'));
      expect(both.map((key) => key.id)).toEqual([mine.id]);
      expect(json<ListedKey[]>(await tg('keys', 'list', '--user', 'ada', '--json'))).toHaveLength(2);
      expect(json<ListedKey[]>(await tg('keys', 'list', '--project', 'nobody', '--json'))).toEqual([]);
      expect((await tg('keys', 'list', '--project', 'nobody')).stdout).toBe('No keys match.\n');
    });

    test('an empty store says how to create a key', async () => {
      const result = await tg('keys', 'list');
      expect(result).toMatchObject({ code: 0, stdout: expect.stringContaining('npx tollgate keys create --project') });
      expect(json<unknown[]>(await tg('keys', 'list', '--json'))).toEqual([]);
    });

    test('status is what the gateway would do now: an expiry passes, a block lapses', async () => {
      const expiring = await create('--project', 'acme', '--expires', '1h');
      const blocked = await create('--project', 'acme');
      await patch(blocked.id, { blockedUntil: '2026-11-27T10:30:00.000Z' });
      const status = async (id: string) => (await listed(id))?.status;

      expect([await status(expiring.id), await status(blocked.id)]).toEqual(['active', 'blocked']);
      expect((await tg('keys', 'list')).stdout).toMatch(new RegExp(`^${blocked.id} .*\\bblocked\\b`, 'm'));

      clock = new Date('2026-11-27T11:00:00Z'); // the expiry instant itself already refuses
      expect([await status(expiring.id), await status(blocked.id)]).toEqual(['expired', 'active']);
      expect(await listed(expiring.id)).toMatchObject({ expiresAt: '2026-11-27T11:00:00.000Z' });
    });
  });

  describe('set-limits', () => {
    test('changes only what is given, clears with none, and read-modify-writes the limits object', async () => {
      // GIVEN
      const created = await create('--project', 'acme', '--daily', '5', '--monthly', '50', '--rpm', '60', '--concurrent', '4', '--expires', '30d');

      // WHEN
      const result = await tg('keys', 'set-limits', created.id, '--daily', 'none', '--lifetime', '100', '--rpm', 'none', '--json');

      // THEN
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(json<ListedKey>(result)).toMatchObject({
        id: created.id,
        limits: { daily: null, weekly: null, monthly: { nanos: 50_000_000_000, usd: '50.00' }, lifetime: { nanos: 100_000_000_000, usd: '100.00' } },
        rateLimits: { requestsPerMinute: null, concurrent: 4 },
        expiresAt: '2026-12-27T10:00:00.000Z',
      });
      expect(await stored(created.id)).toMatchObject({
        limits: { monthly: 50_000_000_000, lifetime: 100_000_000_000 },
        rateLimits: { concurrent: 4 },
        expiresAt: '2026-12-27T10:00:00.000Z',
      });
      expect((await stored(created.id))?.limits).not.toHaveProperty('daily');
      expect((await stored(created.id))?.rateLimits).not.toHaveProperty('requestsPerMinute');
    });

    test('clearing everything leaves no limits, no rate limits and no expiry', async () => {
      const created = await create('--project', 'acme', '--daily', '5', '--concurrent', '4', '--expires', '30d');
      const result = await tg('keys', 'set-limits', created.id, '--daily', 'none', '--concurrent', 'none', '--expires', 'none');
      expect(result).toEqual({ code: 0, stderr: '', stdout: `Key ${created.id} (${created.prefix}…, project acme): no limits. ${DELAY}\n` });
      const record = await stored(created.id);
      expect(record).not.toHaveProperty('limits');
      expect(record).not.toHaveProperty('rateLimits');
      expect(record).not.toHaveProperty('expiresAt');
    });

    test('the human output lists the new limits; a whole key is accepted and not echoed', async () => {
      const created = await create('--project', 'acme');
      const result = await tg('keys', 'set-limits', created.key, '--weekly', '12.5', '--concurrent', '2', '--expires', '2027-01-01');
      expect(result).toEqual({
        code: 0,
        stderr: '',
        stdout: `Key ${created.id} (${created.prefix}…, project acme): weekly $12.50, 2 concurrent, expires 2027-01-01 00:00Z. ${DELAY}\n`,
      });
      expectNoKeyLeaked(created);
    });

    test('an extended expiry makes an expired key active again', async () => {
      const created = await create('--project', 'acme', '--expires', '1h');
      clock = new Date('2026-11-28T00:00:00Z');
      expect((await listed(created.id))?.status).toBe('expired');
      expect(json<ListedKey>(await tg('keys', 'set-limits', created.id, '--expires', '7d', '--json'))).toMatchObject({ status: 'active', expiresAt: '2026-12-05T00:00:00.000Z' });
    });

    test('unknown and revoked keys exit 1', async () => {
      const created = await create('--project', 'acme');
      await tg('keys', 'revoke', created.id);
      expect(await tg('keys', 'set-limits', 'feedfacecafe', '--daily', '1')).toEqual({ code: 1, stdout: '', stderr: expect.stringContaining('no key with id "feedfacecafe"') });
      expect(await tg('keys', 'set-limits', created.id, '--daily', '1', '--json')).toEqual({ code: 1, stdout: '', stderr: expect.stringContaining('is revoked') });
      expect(await stored(created.id)).not.toHaveProperty('limits');
    });
  });

  describe('disable, enable, revoke', () => {
    test('disable refuses the key until enable, and keeps the first disable time', async () => {
      const created = await create('--project', 'acme');

      const human = await tg('keys', 'disable', created.id);
      expect(human).toMatchObject({ code: 0, stderr: '' });
      expect(human.stdout).toBe(
        `Disabled key ${created.id} (${created.prefix}…, project acme) at 2026-11-27T10:00:00.000Z. ${DELAY}\nRe-enable it with: tollgate keys enable ${created.id}\n`,
      );
      expect((await stored(created.id))?.disabledAt).toBe('2026-11-27T10:00:00.000Z');

      clock = new Date('2026-11-27T12:00:00Z');
      const again = json<ListedKey>(await tg('keys', 'disable', created.id, '--json'));
      expect(again).toMatchObject({ status: 'disabled', disabledAt: '2026-11-27T10:00:00.000Z' });
      expect((await tg('keys', 'list')).stdout).toMatch(/\bdisabled\s+-\s+-\n$/);

      const enabled = await tg('keys', 'enable', created.id);
      expect(enabled).toEqual({ code: 0, stderr: '', stdout: `Key ${created.id} (${created.prefix}…, project acme) is active.\n` });
      expect(await listed(created.id)).toMatchObject({ status: 'active', disabledAt: null });
      expect(await stored(created.id)).not.toHaveProperty('disabledAt');
    });

    test('enable also lifts a block left by an unpriced request', async () => {
      const created = await create('--project', 'acme');
      await patch(created.id, { blockedUntil: '2026-11-27T11:00:00.000Z' });
      expect(json<ListedKey>(await tg('keys', 'enable', created.id, '--json'))).toMatchObject({ status: 'active', blockedUntil: null });
      expect(await stored(created.id)).not.toHaveProperty('blockedUntil');
    });

    test('enabling an expired key works, says it is still expired, and how to extend it', async () => {
      const created = await create('--project', 'acme', '--expires', '1h');
      await tg('keys', 'disable', created.id);
      clock = new Date('2026-11-27T12:00:00Z');
      const result = await tg('keys', 'enable', created.id, '--json');
      expect(result.code).toBe(0);
      expect(json<ListedKey>(result)).toMatchObject({ status: 'expired', disabledAt: null });
      expect(result.stderr).toBe(`note: key ${created.id} expired at 2026-11-27T11:00:00.000Z; extend it with: tollgate keys set-limits ${created.id} --expires 30d\n`);
    });

    test('a revoked key cannot be enabled, and disabling it changes nothing', async () => {
      const created = await create('--project', 'acme');
      await tg('keys', 'revoke', created.id);
      expect(await tg('keys', 'enable', created.id)).toEqual({ code: 1, stdout: '', stderr: expect.stringContaining('revocation is final') });
      const disabled = await tg('keys', 'disable', created.id, '--json');
      expect(json<ListedKey>(disabled)).toMatchObject({ status: 'revoked', disabledAt: null });
      expect((await tg('keys', 'disable', created.id)).stdout).toContain('is revoked, which is final; nothing to disable');
    });

    test('revoke marks the key revoked, and keeps the first revocation time', async () => {
      const created = await create('--project', 'acme');
      const human = await tg('keys', 'revoke', created.id);
      expect(human).toEqual({ code: 0, stderr: '', stdout: `Revoked key ${created.id} (${created.prefix}…, project acme) at 2026-11-27T10:00:00.000Z.\n` });

      clock = new Date('2026-11-27T12:00:00Z');
      const again = json<ListedKey>(await tg('keys', 'revoke', created.id, '--json'));
      expect(again).toMatchObject({ id: created.id, status: 'revoked', revokedAt: '2026-11-27T10:00:00.000Z' });
      expect(await listed(created.id)).toMatchObject({ status: 'revoked', revokedAt: again.revokedAt });
      expect((await tg('keys', 'list')).stdout).toMatch(/\brevoked\s+-\s+-\n$/);
    });

    test('every key command accepts the whole key, and never echoes it', async () => {
      const created = await create('--project', 'acme');
      for (const command of ['disable', 'enable', 'revoke']) {
        for (const extra of [[], ['--json']]) {
          const result = await tg('keys', command, created.key, ...extra);
          expect({ command, extra, code: result.code }).toEqual({ command, extra, code: 0 });
        }
      }
      expect((await listed(created.id))?.status).toBe('revoked');
      expectNoKeyLeaked(created);
    });

    test('unknown ids exit 1 with a clear message and no stdout', async () => {
      for (const command of ['revoke', 'disable', 'enable']) {
        for (const extra of [[], ['--json']]) {
          const result = await tg('keys', command, 'feedfacecafe', ...extra);
          expect(result).toEqual({ code: 1, stdout: '', stderr: 'tollgate: no key with id "feedfacecafe" (see "tollgate keys list")\n' });
        }
      }
    });
  });

  test('bad usage exits 2 with the reason on stderr', async () => {
    const created = await create('--project', 'acme');
    const cases: [string[], string][] = [
      [['keys', 'create'], '--project is required'],
      [['keys', 'create', '--project', ''], '--project must not be empty'],
      [['keys', 'create', '--project', 'acme', '--projct', 'x'], "unknown option '--projct'"],
      [['keys', 'create', '--project', 'acme', '--daily', '1e3'], '--daily: "1e3" is not a USD amount'],
      [['keys', 'create', '--project', 'acme', '--daily=-1'], '--daily: "-1" is not a USD amount'],
      [['keys', 'create', '--project', 'acme', '--daily', 'none'], '"none" is not a USD amount'],
      [['keys', 'create', '--project', 'acme', '--rpm', '0'], '--rpm must be a whole number of at least 1, not "0"'],
      [['keys', 'create', '--project', 'acme', '--concurrent', '2.5'], '--concurrent must be a whole number'],
      [['keys', 'create', '--project', 'acme', '--rpm', 'none'], '--rpm must be a whole number'],
      [['keys', 'list', 'extra'], 'unexpected argument "extra"'],
      [['keys', 'set-limits', created.id], 'nothing to change'],
      [['keys', 'set-limits'], 'missing key id'],
      [['keys', 'set-limits', created.id, '--rpm', 'lots'], 'or "none"'],
      [['keys', 'set-limits', created.id, '--monthly', '1.1234567891'], 'more than 9 decimal places'],
      [['keys', 'set-limits', created.id, '--mode', 'soft'], "unknown option '--mode'"],
      [['keys', 'disable'], 'missing key id'],
      [['keys', 'enable', 'a', 'b'], 'unexpected argument "b"'],
      [['keys', 'revoke'], 'missing key id'],
      [['keys', 'revoke', 'a', 'b'], 'unexpected argument "b"'],
      [['keys', 'rotate'], 'unknown keys command "rotate"'],
      [['keys'], 'missing keys command'],
    ];
    for (const [args, reason] of cases) {
      const result = await tg(...args);
      expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(result.stderr).toMatch(/^tollgate: .+\nRun "tollgate keys( [\w-]+)? --help" for usage\.\n$/);
      expect(result.stderr).toContain(reason);
    }
    expect(await stored(created.id)).toEqual(expect.not.objectContaining({ limits: expect.anything() }));
    expect(json<unknown[]>(await tg('keys', 'list', '--json'))).toHaveLength(1);
  });

  test('every keys command has --help', async () => {
    const commands = ['create', 'list', 'set-limits', 'disable', 'enable', 'revoke'];
    for (const args of [['keys', '--help'], ['keys', 'help'], ...commands.map((command) => ['keys', command, '--help']), ['keys', 'list', '-h']]) {
      const result = await tg(...args);
      expect(result).toMatchObject({ code: 0, stderr: '', stdout: expect.stringMatching(/^Usage: tollgate keys/) });
    }
    expect((await tg('keys', 'create', '--help')).stdout).toContain('--expires <when>');
    expect((await tg('keys', '--help')).stdout).toMatch(/set-limits[\s\S]*disable[\s\S]*enable/);
  });
});
