import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import { forEachSettlementChange, parseReservation } from './counters';
import type { Reservation } from './port';
import type { FileGuard } from './sqlite-file-guard';

/**
 * A write to the spend ledger. A reservation travels as its persisted record (the only form a
 * writer thread needs: it is parsed there); a settlement or a release by id, its record read back
 * as it is deleted, so both stores settle exactly what was reserved.
 */
export type LedgerWrite =
  | { readonly kind: 'reserve'; readonly record: string }
  | { readonly kind: 'settle'; readonly id: string; readonly actualNanos: number }
  | { readonly kind: 'release'; readonly id: string };

/**
 * Reserve: granted, what each claim's counter then holds (its `ClaimStanding.used`, in the
 * reservation's order), or the index of the claim that refused. Settle: {@link SETTLED} or {@link NOT_HELD}.
 */
export type LedgerOutcome = number | readonly number[];
export const SETTLED = 1;
export const NOT_HELD = 0;

/**
 * Parsed reservations kept for their settlement (~3 KB each with a dozen claims, on a thread whose
 * heap is capped at 96 MB): past this many unsettled, settlements read their rows again.
 */
const MAX_HELD = 10_000;

/** How often the WAL is copied back into the database file, off the write path. */
export const CHECKPOINT_INTERVAL_MS = 1_000;

export interface Ledger {
  /**
   * Applies the writes in order, in one transaction when they all succeed. If one throws, the
   * group is replayed one write per transaction, so only the write that failed fails: the same
   * outcomes as writing them one by one.
   */
  apply(writes: readonly LedgerWrite[]): (LedgerOutcome | Error)[];
  /** Records of reservations expired at `nowIso`, oldest first; prunes stale rate counters. */
  expired(nowIso: string, limit: number): string[];
  /** Copies the WAL back into the database file; called on a timer, off the write path. */
  checkpoint(): void;
}

interface CounterRow {
  nanos: number;
  committed: number;
}

/**
 * The spend counters and reservations of one SQLite connection: the only code that writes them.
 * With a `guard`, a group is answered only if, after its commit, the store's paths still name the
 * files it was committed into; otherwise every write of the group fails with the guard's error.
 * Checking after the commit, not before, is what closes the window: a file deleted before the
 * check was deleted before the commit answered, so no caller goes on believing its write is kept.
 */
export function createLedger(db: Database.Database, guard?: FileGuard): Ledger {
  const selectCounter = db.prepare<[string, string, string], CounterRow>('SELECT nanos, committed FROM spend WHERE scope_kind = ? AND scope_id = ? AND period = ?');
  const addToCounter = db.prepare<[string, string, string, number, number, number]>(
    `INSERT INTO spend (scope_kind, scope_id, period, nanos, committed, requests) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (scope_kind, scope_id, period) DO UPDATE SET
       nanos = nanos + excluded.nanos, committed = committed + excluded.committed, requests = requests + excluded.requests`,
  );
  const insertReservation = db.prepare<[string, string, string]>('INSERT INTO reservations (id, expires_at, body) VALUES (?, ?, ?)');
  const takeReservation = db.prepare<[string], { body: string }>('DELETE FROM reservations WHERE id = ? RETURNING body');

  const selectExpired = db.prepare<[string, number], { body: string }>('SELECT body FROM reservations WHERE expires_at <= ? ORDER BY expires_at LIMIT ?');
  const pruneMinutes = db.prepare<[string]>("DELETE FROM spend WHERE period GLOB 'minute:*' AND period < ?");

  const dropReservation = db.prepare<[string]>('DELETE FROM reservations WHERE id = ?');

  // The reservations this connection wrote and has not seen settled, parsed: a settlement then
  // neither reads the record back nor parses it again. The row stays the only truth of whether a
  // reservation is still held (its DELETE says so); this holds the same record, already parsed.
  // Changed only once a group has committed, so a rolled-back group leaves it as it was.
  const held = new Map<string, Reservation>();
  let group: { added: Reservation[]; settled: string[] } = { added: [], settled: [] };

  // Check every claim, then apply them all: inside one transaction nothing can move in between.
  const reserveOne = (counters: CounterChanges, record: string): LedgerOutcome => {
    const reservation = parseReservation(record);
    const { id, claims, expiresAt } = reservation;
    // What each counter holds once its claim is applied: read here, in the same transaction, for the caller's span.
    const used: number[] = [];
    for (const [index, claim] of claims.entries()) {
      const { nanos: settled, committed } = counters.read(claim.scope.kind, claim.scope.id, claim.period);
      const fits = claim.rule === 'within' ? committed + claim.amount <= claim.limit : settled < claim.limit;
      if (!fits) return index;
      used.push(claim.rule === 'within' ? committed + claim.amount : settled);
    }
    for (const claim of claims) counters.add(claim.scope.kind, claim.scope.id, claim.period, 0, claim.amount, 0);
    insertReservation.run(id, expiresAt.toISOString(), record);
    group.added.push(reservation);
    return used;
  };

  /** `actualNanos` null releases: the claims are handed back and nothing is recorded. */
  const settleOne = (counters: CounterChanges, id: string, actualNanos: number | null): LedgerOutcome => {
    let reservation = held.get(id) ?? group.added.find((added) => added.id === id);
    if (reservation) {
      if (dropReservation.run(id).changes === 0) reservation = undefined;
    } else {
      // Written by another connection, or before this one opened (a reservation left by a crash).
      const row = takeReservation.get(id);
      if (row) reservation = parseReservation(row.body);
    }
    group.settled.push(id);
    if (!reservation) return NOT_HELD;
    // Straight into the group's sums: merging per reservation first (settlementDeltas) would be work done twice.
    forEachSettlementChange(reservation, actualNanos, counters.add);
    return SETTLED;
  };

  const applyGroup = db.transaction((writes: readonly LedgerWrite[]): LedgerOutcome[] => {
    const counters = new CounterChanges(selectCounter, addToCounter);
    const outcomes = writes.map((write) =>
      write.kind === 'reserve' ? reserveOne(counters, write.record) : settleOne(counters, write.id, write.kind === 'settle' ? write.actualNanos : null),
    );
    counters.write();
    return outcomes;
  });

  // IMMEDIATE: take the write lock at BEGIN, so a CLI writing the same file cannot turn a read into a busy upgrade.
  const commit = (writes: readonly LedgerWrite[]): LedgerOutcome[] => {
    group = { added: [], settled: [] };
    const outcomes = applyGroup.immediate(writes);
    // Committed: the group's reservations are now held, its settled ones no longer.
    if (held.size + group.added.length > MAX_HELD) held.clear();
    for (const reservation of group.added) held.set(reservation.id, reservation);
    for (const id of group.settled) held.delete(id);
    return outcomes;
  };

  const applyAll = (writes: readonly LedgerWrite[]): (LedgerOutcome | Error)[] => {
    try {
      return commit(writes);
    } catch (error) {
      // A busy or failing database fails every write alike: replaying them one by one would
      // only wait out the busy timeout once per write.
      if (!isWriteError(error)) return writes.map(() => asError(error));
      return writes.map((write) => {
        try {
          return commit([write])[0] as LedgerOutcome;
        } catch (writeError) {
          return asError(writeError);
        }
      });
    }
  };

  return {
    apply(writes) {
      try {
        // Known gone: nothing more is written into it.
        guard?.throwIfFailed();
        const outcomes = applyAll(writes);
        guard?.check();
        return outcomes;
      } catch (error) {
        return writes.map(() => asError(error));
      }
    },
    expired(nowIso, limit) {
      // The reconciler settles what this returns: never from a file that is no longer the store.
      guard?.check();
      // Rate counters older than a minute can no longer refuse anything.
      pruneMinutes.run(`minute:${new Date(Date.parse(nowIso) - 120_000).toISOString().slice(0, 16)}`);
      return selectExpired.all(nowIso, limit).map((row) => row.body);
    },
    checkpoint() {
      try {
        db.pragma('wal_checkpoint(PASSIVE)');
      } catch {
        // Busy (another process writing) or closed: the next tick tries again.
      }
    },
  };
}

/**
 * An error one write caused (a taken id, a malformed record), as opposed to one of the database
 * (busy, locked, full, I/O): only the first kind is worth replaying the group one write at a time.
 */
function isWriteError(error: unknown): boolean {
  if (error instanceof SyntaxError || error instanceof RangeError || error instanceof TypeError) return true;
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  return code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_MISMATCH' || code === 'SQLITE_TOOBIG';
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * A group's changes to the spend counters, summed in memory and written once per counter when the
 * group ends: every reservation and settlement touches the same dozen counters, so a group of n
 * writes makes a dozen upserts, not a dozen per write. The table itself does not change until
 * then, so each counter is read at most once per group; reads add what is pending, and each
 * write sees exactly the totals it would have seen had the writes before it been made one by one.
 *
 * Counters are found through a map per kind, id and period rather than one map keyed by a joined
 * string: the names and period labels are the same string objects request after request, whose
 * hashes V8 keeps, while a joined key is a new string to build and hash ~20 times per request.
 */
class CounterChanges {
  private readonly byKind = new Map<string, Map<string, Map<string, PendingCounter>>>();
  private readonly touched: PendingCounter[] = [];

  constructor(
    private readonly select: Statement<[string, string, string], CounterRow>,
    private readonly upsert: Statement<[string, string, string, number, number, number]>,
  ) {}

  /** Settled and committed totals as of the writes applied so far in this group. */
  read(kind: string, id: string, period: string): CounterRow {
    const counter = this.counter(kind, id, period);
    if (counter.storedNanos === undefined) {
      const row = this.select.get(kind, id, period);
      counter.storedNanos = row?.nanos ?? 0;
      counter.storedCommitted = row?.committed ?? 0;
    }
    return { nanos: counter.storedNanos + counter.nanos, committed: counter.storedCommitted + counter.committed };
  }

  readonly add = (kind: string, id: string, period: string, nanos: number, committed: number, requests: number): void => {
    const counter = this.counter(kind, id, period);
    counter.nanos += nanos;
    counter.committed += committed;
    counter.requests += requests;
  };

  /** Every counter touched is upserted, even if its changes cancel out: one by one, it would exist too. */
  write(): void {
    for (const c of this.touched) this.upsert.run(c.kind, c.id, c.period, c.nanos, c.committed, c.requests);
  }

  private counter(kind: string, id: string, period: string): PendingCounter {
    let ids = this.byKind.get(kind);
    if (!ids) this.byKind.set(kind, (ids = new Map()));
    let periods = ids.get(id);
    if (!periods) ids.set(id, (periods = new Map()));
    let counter = periods.get(period);
    if (!counter) {
      counter = { kind, id, period, nanos: 0, committed: 0, requests: 0, storedNanos: undefined, storedCommitted: 0 };
      periods.set(period, counter);
      this.touched.push(counter);
    }
    return counter;
  }
}

interface PendingCounter {
  readonly kind: string;
  readonly id: string;
  readonly period: string;
  nanos: number;
  committed: number;
  requests: number;
  /** The row as the group found it; undefined until first read. */
  storedNanos: number | undefined;
  storedCommitted: number;
}
