import Database, { type Statement } from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { isSpendPeriod, parseReservation, serializeReservation } from './counters';
import { periodLabels } from './periods';
import {
  assertNanos,
  DuplicateKeyIdError,
  type Claim,
  type KeyRecord,
  type Limits,
  type ProjectRecord,
  type Reservation,
  type RateLimits,
  type ScopeKind,
  type SpendCounter,
  type SpendQuery,
  type Store,
  type UserRecord,
} from './port';

export interface SqliteStoreOptions {
  /** Directory for `tollgate.db`; created if missing. `:memory:` keeps everything in RAM (tests). */
  readonly dataDir: string;
}

interface KeyRow {
  id: string;
  hash: string;
  prefix: string;
  project: string;
  user: string | null;
  name: string | null;
  created_at: string;
  revoked_at: string | null;
  disabled_at: string | null;
  expires_at: string | null;
  blocked_until: string | null;
  limits: string | null;
  rate_limits: string | null;
}

interface ProjectRow {
  name: string;
  created_at: string;
  limits: string | null;
  mode: string | null;
}

interface UserRow {
  name: string;
  created_at: string;
  limits: string | null;
}

interface CounterRow {
  scope_kind: ScopeKind;
  scope_id: string;
  period: string;
  nanos: number;
  committed: number;
  requests: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS projects (
  name TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  limits TEXT,
  mode TEXT
);
CREATE TABLE IF NOT EXISTS users (
  name TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  limits TEXT
);
CREATE TABLE IF NOT EXISTS keys (
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL,
  prefix TEXT NOT NULL,
  project TEXT NOT NULL,
  user TEXT,
  name TEXT,
  created_at TEXT NOT NULL,
  revoked_at TEXT,
  disabled_at TEXT,
  expires_at TEXT,
  blocked_until TEXT,
  limits TEXT,
  rate_limits TEXT
);
CREATE TABLE IF NOT EXISTS spend (
  scope_kind TEXT NOT NULL,
  scope_id TEXT NOT NULL,
  period TEXT NOT NULL,
  nanos INTEGER NOT NULL DEFAULT 0,
  committed INTEGER NOT NULL DEFAULT 0,
  requests INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (scope_kind, scope_id, period)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reservations (
  id TEXT PRIMARY KEY,
  expires_at TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reservations_by_expiry ON reservations (expires_at);
`;

const KEY_COLUMNS: Readonly<Record<string, keyof KeyRow>> = {
  disabledAt: 'disabled_at',
  expiresAt: 'expires_at',
  blockedUntil: 'blocked_until',
  limits: 'limits',
  rateLimits: 'rate_limits',
};

/** How often the WAL is copied back into the database file, off the request path. */
const CHECKPOINT_INTERVAL_MS = 1_000;

/** A reservation or settlement waiting for the next group commit, with the promise it answers. */
type PendingWrite = PendingReserve | PendingSettle;

interface PendingReserve {
  readonly kind: 'reserve';
  readonly claims: readonly Claim[];
  readonly id: string;
  readonly expiresAt: string;
  readonly body: string;
  readonly resolve: (refused: Claim | undefined) => void;
  readonly reject: (error: unknown) => void;
}

interface PendingSettle {
  readonly kind: 'settle';
  readonly reservation: Reservation;
  readonly actualNanos: number;
  readonly resolve: (settled: boolean) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The embedded store: one durable file, WAL mode. Reservations and settlements are group
 * committed: every one asked for within an event-loop turn is applied, in the order asked, in
 * one transaction at the end of that turn, and each caller gets its own outcome. Any other call
 * first commits what is pending, so every caller still sees the writes it was answered for.
 *
 * ```
 * turn n:   reserve(a) reserve(b) settle(c)      (queued, nothing written yet)
 * check:    BEGIN IMMEDIATE; a; b; c; COMMIT      ─▶ a, b, c resolve, each with its own outcome
 * ```
 * A statement that throws rolls the group back, and the group is then replayed one transaction
 * per write, so only the write that failed fails: the same outcomes as writing them one by one.
 */
export function openSqliteStore(options: SqliteStoreOptions): Store {
  const file = options.dataDir === ':memory:' ? ':memory:' : dbFile(options.dataDir);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // NORMAL is durable across process crashes in WAL mode; only an OS crash can lose the last commits.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  // An automatic checkpoint runs inside whichever commit crosses 1000 pages and stalls the event
  // loop for milliseconds (its fsyncs); a timer does it once a second instead, between requests.
  db.pragma('wal_autocheckpoint = 0');
  db.exec(SCHEMA);

  const insertProject = db.prepare('INSERT OR IGNORE INTO projects (name, created_at, limits, mode) VALUES (?, ?, ?, ?)');
  const selectProject = db.prepare<[string], ProjectRow>('SELECT * FROM projects WHERE name = ?');
  const selectProjects = db.prepare<[], ProjectRow>('SELECT * FROM projects ORDER BY name');
  const insertUser = db.prepare('INSERT OR IGNORE INTO users (name, created_at, limits) VALUES (?, ?, ?)');
  const selectUser = db.prepare<[string], UserRow>('SELECT * FROM users WHERE name = ?');
  const selectUsers = db.prepare<[], UserRow>('SELECT * FROM users ORDER BY name');
  const insertKey = db.prepare(
    `INSERT INTO keys (id, hash, prefix, project, user, name, created_at, disabled_at, expires_at, blocked_until, limits, rate_limits)
     VALUES (@id, @hash, @prefix, @project, @user, @name, @createdAt, @disabledAt, @expiresAt, @blockedUntil, @limits, @rateLimits)`,
  );
  const selectKey = db.prepare<[string], KeyRow>('SELECT * FROM keys WHERE id = ?');
  const selectKeys = db.prepare<{ project: string | null; user: string | null }, KeyRow>(
    'SELECT * FROM keys WHERE (@project IS NULL OR project = @project) AND (@user IS NULL OR user = @user) ORDER BY created_at, id',
  );
  const revoke = db.prepare('UPDATE keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?');
  const selectCounter = db.prepare<[string, string, string], Pick<CounterRow, 'nanos' | 'committed'>>(
    'SELECT nanos, committed FROM spend WHERE scope_kind = ? AND scope_id = ? AND period = ?',
  );
  const addToCounter = db.prepare<[string, string, string, number, number, number]>(
    `INSERT INTO spend (scope_kind, scope_id, period, nanos, committed, requests) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (scope_kind, scope_id, period) DO UPDATE SET
       nanos = nanos + excluded.nanos, committed = committed + excluded.committed, requests = requests + excluded.requests`,
  );
  const insertReservation = db.prepare('INSERT INTO reservations (id, expires_at, body) VALUES (?, ?, ?)');
  const deleteReservation = db.prepare('DELETE FROM reservations WHERE id = ?');
  const selectExpired = db.prepare<[string, number], { body: string }>(
    'SELECT body FROM reservations WHERE expires_at <= ? ORDER BY expires_at LIMIT ?',
  );
  const pruneMinutes = db.prepare("DELETE FROM spend WHERE period GLOB 'minute:*' AND period < ?");
  const selectSpend = db.prepare<{ kind: string | null; id: string | null }, CounterRow>(
    `SELECT * FROM spend WHERE (@kind IS NULL OR scope_kind = @kind) AND (@id IS NULL OR scope_id = @id)
     ORDER BY scope_kind, scope_id, period`,
  );

  // Check every claim, then apply them all: inside one transaction nothing can move in between.
  const reserveOne = (counters: CounterChanges, write: PendingReserve): Claim | undefined => {
    for (const claim of write.claims) {
      const { nanos: settled, committed } = counters.read(claim.scope.kind, claim.scope.id, claim.period);
      const fits = claim.rule === 'within' ? committed + claim.amount <= claim.limit : settled < claim.limit;
      if (!fits) return claim;
    }
    for (const claim of write.claims) counters.add(claim.scope.kind, claim.scope.id, claim.period, 0, claim.amount, 0);
    insertReservation.run(write.id, write.expiresAt, write.body);
    return undefined;
  };

  // The settlement's counter changes, applied one by one rather than merged first (settlementDeltas):
  // the group already sums them per counter.
  const settleOne = (counters: CounterChanges, write: PendingSettle): boolean => {
    const { reservation, actualNanos } = write;
    if (deleteReservation.run(reservation.id).changes === 0) return false;
    const periods = periodLabels(reservation.at);
    for (const scope of reservation.scopes) {
      for (const period of periods) counters.add(scope.kind, scope.id, period, actualNanos, actualNanos, 1);
    }
    for (const claim of reservation.claims) {
      if (claim.unit !== 'requests') counters.add(claim.scope.kind, claim.scope.id, claim.period, 0, -claim.amount, 0);
    }
    return true;
  };

  // IMMEDIATE (below): take the write lock at BEGIN, so a CLI writing the same file cannot turn a read into a busy upgrade.
  const applyGroup = db.transaction((writes: readonly PendingWrite[]): (Claim | boolean | undefined)[] => {
    const counters = new CounterChanges(selectCounter, addToCounter);
    const outcomes = writes.map((write) => (write.kind === 'reserve' ? reserveOne(counters, write) : settleOne(counters, write)));
    counters.write();
    return outcomes;
  });

  let pending: PendingWrite[] = [];
  let flushScheduled = false;
  const flush = (): void => {
    flushScheduled = false;
    if (pending.length === 0) return;
    const writes = pending;
    pending = [];
    let outcomes: (Claim | boolean | undefined)[] | undefined;
    try {
      outcomes = applyGroup.immediate(writes);
    } catch {
      // Replay one by one (below), so that only the write that failed fails.
    }
    for (const [index, write] of writes.entries()) {
      let outcome: Claim | boolean | undefined;
      try {
        outcome = outcomes ? outcomes[index] : applyGroup.immediate([write])[0];
      } catch (error) {
        write.reject(error);
        continue;
      }
      if (write.kind === 'reserve') write.resolve(outcome === undefined || typeof outcome === 'boolean' ? undefined : outcome);
      else write.resolve(outcome === true);
    }
  };
  const enqueue = (write: PendingWrite): void => {
    pending.push(write);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  };
  /** Every other call first commits the writes already asked for, so it sees them as if they had been made one by one. */
  const inOrder = <T>(run: () => T): T => {
    flush();
    return run();
  };

  const checkpoint = setInterval(() => {
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Busy (another process writing) or closed: the next tick tries again.
    }
  }, CHECKPOINT_INTERVAL_MS);
  checkpoint.unref();

  const update = (table: 'projects' | 'users' | 'keys', idColumn: string, id: string, columns: Record<string, string | null>): boolean => {
    const names = Object.keys(columns);
    if (names.length === 0) return db.prepare(`SELECT 1 FROM ${table} WHERE ${idColumn} = ?`).get(id) !== undefined;
    const sql = `UPDATE ${table} SET ${names.map((name) => `${name} = @${name}`).join(', ')} WHERE ${idColumn} = @__id`;
    return db.prepare(sql).run({ ...columns, __id: id }).changes > 0;
  };

  return {
    async createProject(project) {
      inOrder(() => insertProject.run(project.name, project.createdAt, json(project.limits), project.mode ?? null));
    },
    async getProject(name) {
      const row = inOrder(() => selectProject.get(name));
      return row && toProject(row);
    },
    async listProjects() {
      return inOrder(() => selectProjects.all()).map(toProject);
    },
    async updateProject(name, patch) {
      const columns: Record<string, string | null> = {};
      if (patch.limits !== undefined) columns['limits'] = json(patch.limits);
      if (patch.mode !== undefined) columns['mode'] = patch.mode;
      return inOrder(() => update('projects', 'name', name, columns));
    },

    async createUser(user) {
      inOrder(() => insertUser.run(user.name, user.createdAt, json(user.limits)));
    },
    async getUser(name) {
      const row = inOrder(() => selectUser.get(name));
      return row && toUser(row);
    },
    async listUsers() {
      return inOrder(() => selectUsers.all()).map(toUser);
    },
    async updateUser(name, patch) {
      return inOrder(() => update('users', 'name', name, patch.limits === undefined ? {} : { limits: json(patch.limits) }));
    },

    async createKey(key) {
      flush();
      try {
        insertKey.run({
          ...key,
          user: key.user ?? null,
          name: key.name ?? null,
          disabledAt: key.disabledAt ?? null,
          expiresAt: key.expiresAt ?? null,
          blockedUntil: key.blockedUntil ?? null,
          limits: json(key.limits),
          rateLimits: json(key.rateLimits),
        });
      } catch (error) {
        if (isConstraintError(error)) throw new DuplicateKeyIdError(key.id);
        throw error;
      }
    },
    async getKey(id) {
      const row = inOrder(() => selectKey.get(id));
      return row && toKeyRecord(row);
    },
    async listKeys(filter) {
      return inOrder(() => selectKeys.all({ project: filter?.project ?? null, user: filter?.user ?? null })).map(toKeyRecord);
    },
    async revokeKey(id, at) {
      return inOrder(() => revoke.run(at.toISOString(), id)).changes > 0;
    },
    async updateKey(id, patch) {
      const columns: Record<string, string | null> = {};
      for (const [field, column] of Object.entries(KEY_COLUMNS)) {
        const value = patch[field as keyof typeof patch];
        if (value === undefined) continue;
        columns[column] = value === null || typeof value === 'string' ? value : json(value);
      }
      return inOrder(() => update('keys', 'id', id, columns));
    },

    async reserve(reservation) {
      assertNanos(reservation.estimateNanos);
      const expiresAt = reservation.expiresAt.toISOString();
      const body = serializeReservation(reservation);
      const refused = await new Promise<Claim | undefined>((resolve, reject) => {
        enqueue({ kind: 'reserve', claims: reservation.claims, id: reservation.id, expiresAt, body, resolve, reject });
      });
      return refused ? { ok: false, refused } : { ok: true };
    },
    async settle(reservation, actualNanos) {
      assertNanos(actualNanos);
      return new Promise<boolean>((resolve, reject) => {
        enqueue({ kind: 'settle', reservation, actualNanos, resolve, reject });
      });
    },
    async expiredReservations(now, limit = 100) {
      flush();
      // Rate counters older than a minute can no longer refuse anything.
      pruneMinutes.run(`minute:${new Date(now.getTime() - 120_000).toISOString().slice(0, 16)}`);
      return selectExpired.all(now.toISOString(), limit).map((row) => parseReservation(row.body));
    },

    async getSpend(query?: SpendQuery) {
      return inOrder(() => selectSpend.all({ kind: query?.kind ?? null, id: query?.id ?? null }))
        .filter((row) => isSpendPeriod(row.period))
        .map(toCounter);
    },
    async close() {
      clearInterval(checkpoint);
      flush();
      db.close();
    },
  };
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
    private readonly select: Statement<[string, string, string], Pick<CounterRow, 'nanos' | 'committed'>>,
    private readonly upsert: Statement<[string, string, string, number, number, number]>,
  ) {}

  /** Settled and committed totals as of the writes applied so far in this group. */
  read(kind: string, id: string, period: string): { readonly nanos: number; readonly committed: number } {
    const counter = this.counter(kind, id, period);
    if (counter.storedNanos === undefined) {
      const row = this.select.get(kind, id, period);
      counter.storedNanos = row?.nanos ?? 0;
      counter.storedCommitted = row?.committed ?? 0;
    }
    return { nanos: counter.storedNanos + counter.nanos, committed: counter.storedCommitted + counter.committed };
  }

  add(kind: string, id: string, period: string, nanos: number, committed: number, requests: number): void {
    const counter = this.counter(kind, id, period);
    counter.nanos += nanos;
    counter.committed += committed;
    counter.requests += requests;
  }

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

function dbFile(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true });
  return join(dataDir, 'tollgate.db');
}

function json(value: Limits | RateLimits | null | undefined): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

function parsed<T>(text: string | null): T | undefined {
  return text === null ? undefined : (JSON.parse(text) as T);
}

function toProject(row: ProjectRow): ProjectRecord {
  const limits = parsed<Limits>(row.limits);
  return {
    name: row.name,
    createdAt: row.created_at,
    ...(limits && { limits }),
    ...(row.mode !== null && { mode: row.mode === 'soft' ? 'soft' : 'strict' }),
  };
}

function toUser(row: UserRow): UserRecord {
  const limits = parsed<Limits>(row.limits);
  return { name: row.name, createdAt: row.created_at, ...(limits && { limits }) };
}

function toKeyRecord(row: KeyRow): KeyRecord {
  const limits = parsed<Limits>(row.limits);
  const rateLimits = parsed<RateLimits>(row.rate_limits);
  return {
    id: row.id,
    hash: row.hash,
    prefix: row.prefix,
    project: row.project,
    createdAt: row.created_at,
    ...(row.user !== null && { user: row.user }),
    ...(row.name !== null && { name: row.name }),
    ...(row.revoked_at !== null && { revokedAt: row.revoked_at }),
    ...(row.disabled_at !== null && { disabledAt: row.disabled_at }),
    ...(row.expires_at !== null && { expiresAt: row.expires_at }),
    ...(row.blocked_until !== null && { blockedUntil: row.blocked_until }),
    ...(limits && { limits }),
    ...(rateLimits && { rateLimits }),
  };
}

function toCounter(row: CounterRow): SpendCounter {
  return {
    scope: { kind: row.scope_kind, id: row.scope_id },
    period: row.period,
    nanos: row.nanos,
    reservedNanos: row.committed - row.nanos,
    requests: row.requests,
  };
}

/** Duck-typed: the native addon keeps the SqliteError class of the first realm that loaded it. */
function isConstraintError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && String(error.code).startsWith('SQLITE_CONSTRAINT');
}
