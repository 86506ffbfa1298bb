import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serializeReservation } from '../../lambda/store/counters';
import { openDatabase } from '../../lambda/store/sqlite-database';
import { createLedger, NOT_HELD, SETTLED } from '../../lambda/store/sqlite-ledger';
import { SpendWriterClosedError, threadWriter } from '../../lambda/store/sqlite-writer';

/** The spend writer thread's own failure path; the store contract covers what it writes. */
describe('sqlite spend writer thread', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-writer-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('fails the writes of a thread that died, and the next write starts a new thread', async () => {
    // GIVEN a writer whose file cannot be opened yet: its directory does not exist
    const writer = threadWriter(join(dir, 'later', 'tollgate.db'));
    const record = serializeReservation({
      id: 'r1',
      at: new Date('2026-11-27T10:00:00Z'),
      scopes: [{ kind: 'key', id: 'k1' }],
      claims: [],
      estimateNanos: 5,
      expiresAt: new Date('2026-11-27T10:20:00Z'),
    });

    // WHEN a reservation is written, the thread dies opening the file: the write fails, saying so
    await expect(writer.write({ kind: 'reserve', record })).rejects.toThrow(/spend writer thread/);

    // THEN once the file can be opened, the next writes go through a new thread
    mkdirSync(join(dir, 'later'));
    // Granted, with no claims to stand on.
    expect(await writer.write({ kind: 'reserve', record })).toEqual([]);
    expect(await writer.write({ kind: 'settle', id: 'r1', actualNanos: 3 })).toBe(SETTLED);
    expect(await writer.write({ kind: 'settle', id: 'r1', actualNanos: 3 })).toBe(NOT_HELD);
    await writer.close();
  });

  it('finishes closing in a process with nothing else to do: the thread is waited for until it exits', () => {
    // GIVEN a script that writes spend, closes the store, then says so
    const script = `
      const { openSqliteStore } = require(${JSON.stringify(join(__dirname, '..', '..', 'lambda', 'store', 'sqlite.ts'))});
      (async () => {
        const store = openSqliteStore({ dataDir: process.argv[1] });
        await store.reserve({ id: 'r1', at: new Date(), scopes: [], claims: [], estimateNanos: 0, expiresAt: new Date() });
        await store.close();
        process.stdout.write('closed');
      })();`;

    // WHEN it runs on its own
    const stdout = execFileSync(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', script, dir], { encoding: 'utf8' });

    // THEN the close resolved before the process ended
    expect(stdout).toBe('closed');
  });

  it('answers a read of expired reservations and closes cleanly, twice', async () => {
    const writer = threadWriter(join(dir, 'tollgate.db'));
    expect(await writer.expired('2100-01-01T00:00:00.000Z', 10)).toEqual([]);
    await writer.caughtUp();
    await writer.close();
    // Closing twice, or with no thread, is a no-op.
    await writer.close();
  });
});

describe('sqlite spend writer, closing', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-writer-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const record = (id: string): string =>
    serializeReservation({ id, at: new Date('2026-11-27T10:00:00Z'), scopes: [{ kind: 'key', id: 'k1' }], claims: [], estimateNanos: 5, expiresAt: new Date('2026-11-27T10:20:00Z') });

  it('commits the writes asked for before close, and refuses those asked for after', async () => {
    const writer = threadWriter(join(dir, 'tollgate.db'));
    const before = writer.write({ kind: 'reserve', record: record('r1') });
    await writer.close();
    expect(await before).toEqual([]);
    await expect(writer.write({ kind: 'reserve', record: record('r2') })).rejects.toThrow(SpendWriterClosedError);
    await expect(writer.expired('2100-01-01T00:00:00.000Z', 10)).rejects.toThrow(SpendWriterClosedError);

    // AND the one asked for before close is on disk
    const reopened = threadWriter(join(dir, 'tollgate.db'));
    expect(await reopened.write({ kind: 'settle', id: 'r1', actualNanos: 1 })).toBe(SETTLED);
    await reopened.close();
  });
});

describe('sqlite ledger on a busy database', () => {
  it('fails a whole group at once instead of waiting out the busy timeout once per write', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-ledger-'));
    const file = join(dir, 'tollgate.db');
    const holder = openDatabase(file);
    const db = openDatabase(file);
    try {
      db.pragma('busy_timeout = 200');
      const ledger = createLedger(db);
      // GIVEN another connection holding the write lock
      holder.exec('BEGIN IMMEDIATE');
      const writes = Array.from({ length: 10 }, (_, i) => ({
        kind: 'reserve' as const,
        record: serializeReservation({ id: `r${i}`, at: new Date(), scopes: [], claims: [], estimateNanos: 0, expiresAt: new Date() }),
      }));

      // WHEN a group of ten is applied
      const began = Date.now();
      const outcomes = ledger.apply(writes);

      // THEN all ten fail with the database's error, after one busy wait, not ten
      expect(outcomes.every((o) => o instanceof Error && /locked|busy/i.test(o.message))).toBe(true);
      expect(Date.now() - began).toBeLessThan(1_000);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sqlite ledger, settling what it reserved', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-ledger-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const at = new Date('2026-11-27T10:00:00Z');
  const reservation = (id: string, estimateNanos = 100) =>
    serializeReservation({
      id,
      at,
      scopes: [{ kind: 'key', id: 'k1' }],
      claims: [{ scope: { kind: 'key', id: 'k1' }, period: 'day:2026-11-27', unit: 'nanos', amount: estimateNanos, limit: 1_000, rule: 'within' }],
      estimateNanos,
      expiresAt: new Date('2026-11-27T10:20:00Z'),
    });
  const counter = (db: ReturnType<typeof openDatabase>) =>
    db.prepare("SELECT nanos, committed, requests FROM spend WHERE scope_kind = 'key' AND scope_id = 'k1' AND period = 'day:2026-11-27'").get();

  it('goes by the row, not by what it remembers: a reservation another process settled is not settled twice', () => {
    const file = join(dir, 'tollgate.db');
    const db = openDatabase(file);
    const other = openDatabase(file);
    try {
      const ledger = createLedger(db);
      const elsewhere = createLedger(other);
      expect(ledger.apply([{ kind: 'reserve', record: reservation('r1') }])).toEqual([[100]]);
      // GIVEN another connection (a reconciler in another process) settles it first
      expect(elsewhere.apply([{ kind: 'settle', id: 'r1', actualNanos: 100 }])).toEqual([SETTLED]);
      // WHEN this ledger settles it too, THEN nothing is held any more, and the counters moved once
      expect(ledger.apply([{ kind: 'settle', id: 'r1', actualNanos: 40 }])).toEqual([NOT_HELD]);
      expect(counter(db)).toEqual({ nanos: 100, committed: 100, requests: 1 });
    } finally {
      db.close();
      other.close();
    }
  });

  it('settles reservations it did not write (another connection, an earlier run) from their rows', () => {
    const file = join(dir, 'tollgate.db');
    const earlier = openDatabase(file);
    expect(createLedger(earlier).apply([{ kind: 'reserve', record: reservation('r1', 300) }])).toEqual([[300]]);
    earlier.close();
    const db = openDatabase(file);
    try {
      const ledger = createLedger(db);
      expect(ledger.apply([{ kind: 'settle', id: 'r1', actualNanos: 120 }, { kind: 'settle', id: 'r1', actualNanos: 120 }])).toEqual([SETTLED, NOT_HELD]);
      expect(counter(db)).toEqual({ nanos: 120, committed: 120, requests: 1 });
    } finally {
      db.close();
    }
  });

  it('keeps to what was committed when a group fails and is replayed write by write', () => {
    const db = openDatabase(join(dir, 'tollgate.db'));
    try {
      const ledger = createLedger(db);
      expect(ledger.apply([{ kind: 'reserve', record: reservation('r1') }])).toEqual([[100]]);
      // GIVEN a group that settles r1 and then fails on a malformed record: rolled back, then replayed
      const outcomes = ledger.apply([
        { kind: 'settle', id: 'r1', actualNanos: 10 },
        { kind: 'reserve', record: '[2,"r2",' },
        { kind: 'reserve', record: reservation('r3') },
      ]);
      expect(outcomes[0]).toBe(SETTLED);
      expect(outcomes[1]).toBeInstanceOf(Error);
      // r3's claim stands on r1's settled 10 alone: the rolled-back first run of the group left nothing behind.
      expect(outcomes[2]).toEqual([110]);
      // THEN r1 was settled exactly once, r3 is held, r2 never existed
      expect(ledger.apply([{ kind: 'settle', id: 'r1', actualNanos: 10 }, { kind: 'settle', id: 'r2', actualNanos: 1 }, { kind: 'settle', id: 'r3', actualNanos: 5 }])).toEqual([
        NOT_HELD,
        NOT_HELD,
        SETTLED,
      ]);
      expect(counter(db)).toEqual({ nanos: 15, committed: 15, requests: 2 });
    } finally {
      db.close();
    }
  });
});
