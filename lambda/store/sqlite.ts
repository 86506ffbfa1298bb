import { parseAccess, serializeAccess } from './access-lists';
import { isSpendPeriod, parseReservation, serializeReservation } from './counters';
import {
  assertNanos,
  DuplicateKeyIdError,
  type KeyPatch,
  type KeyRecord,
  type Limits,
  type ProjectAccountRecord,
  type ProjectRecord,
  type RateLimits,
  type ScopeKind,
  type SpendCounter,
  type SpendQuery,
  standingOf,
  type Store,
  type UserRecord,
} from './port';
import { databaseFile, openDatabase, retireLog } from './sqlite-database';
import { FileGuard, identifyFiles } from './sqlite-file-guard';
import { SETTLED } from './sqlite-ledger';
import { inlineWriter, threadWriter, type SpendWriter } from './sqlite-writer';

export interface SqliteStoreOptions {
  /**
   * Directory for `tollgate.db`; created if missing. Made private to this user (see
   * `preparePrivateDir`): 0700, its files 0600. `:memory:` keeps everything in RAM (tests).
   */
  readonly dataDir: string;
  /**
   * Where spend is written: on a thread of its own (the default for a file), or on the caller's
   * thread (always for `:memory:`, which a second connection cannot open).
   */
  readonly spendWriter?: 'thread' | 'inline';
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
  access: string | null;
}

interface ProjectRow {
  name: string;
  created_at: string;
  limits: string | null;
  mode: string | null;
  access: string | null;
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


/** Key fields a patch sets as they are (strings) or as JSON; `access` has a serialiser of its own. */
const KEY_COLUMNS = {
  disabledAt: 'disabled_at',
  expiresAt: 'expires_at',
  blockedUntil: 'blocked_until',
  limits: 'limits',
  rateLimits: 'rate_limits',
} as const satisfies Partial<Record<keyof KeyPatch, keyof KeyRow>>;

/**
 * The embedded store: one durable file, WAL mode. Keys, projects and users are read and written
 * on the caller's connection; spend goes through a {@link SpendWriter}, which group-commits the
 * reservations and settlements of each event-loop turn, by default on a thread of its own. Reads
 * of spend first wait for the writes asked for before them, so every caller sees what it was
 * answered for.
 *
 * If the file is deleted or replaced while the store is open, every call fails from then on with
 * a `StoreFileMovedError` that says what happened and what to do: spend writes are checked as they
 * commit, reads at most a second late (see `FileGuard`).
 */
export function openSqliteStore(options: SqliteStoreOptions): Store {
  const file = databaseFile(options.dataDir);
  const db = openDatabase(file);
  const files = file === ':memory:' ? [] : identifyFiles(file);
  const inline = file === ':memory:' || options.spendWriter === 'inline';
  // Spend is written on this connection only with an inline writer; then it is this connection's
  // log to empty into the old file at once (a thread writer does that on its own connection).
  const guard = new FileGuard(files, inline ? { onFailure: () => retireLog(db) } : {});
  const writer: SpendWriter = inline ? inlineWriter(db, guard) : threadWriter(file, files);
  // Reads may see the file just deleted (what was true a moment ago); writes on this connection
  // (keys, projects, users) are checked before and after, as the spend writer checks its commits.
  const read = <T>(query: () => T): T => {
    guard.checkSometimes();
    return query();
  };
  const write = <T>(change: () => T): T => {
    guard.check();
    const result = change();
    guard.check();
    return result;
  };

  const insertProject = db.prepare('INSERT OR IGNORE INTO projects (name, created_at, limits, mode, access) VALUES (?, ?, ?, ?, ?)');
  const selectProject = db.prepare<[string], ProjectRow>('SELECT * FROM projects WHERE name = ?');
  const selectProjects = db.prepare<[], ProjectRow>('SELECT * FROM projects ORDER BY name');
  const insertUser = db.prepare('INSERT OR IGNORE INTO users (name, created_at, limits) VALUES (?, ?, ?)');
  const selectUser = db.prepare<[string], UserRow>('SELECT * FROM users WHERE name = ?');
  const selectUsers = db.prepare<[], UserRow>('SELECT * FROM users ORDER BY name');
  const insertKey = db.prepare(
    `INSERT INTO keys (id, hash, prefix, project, user, name, created_at, disabled_at, expires_at, blocked_until, limits, rate_limits, access)
     VALUES (@id, @hash, @prefix, @project, @user, @name, @createdAt, @disabledAt, @expiresAt, @blockedUntil, @limits, @rateLimits, @access)`,
  );
  const selectKey = db.prepare<[string], KeyRow>('SELECT * FROM keys WHERE id = ?');
  const selectKeys = db.prepare<{ project: string | null; user: string | null }, KeyRow>(
    'SELECT * FROM keys WHERE (@project IS NULL OR project = @project) AND (@user IS NULL OR user = @user) ORDER BY created_at, id',
  );
  const insertAccount = db.prepare('INSERT OR IGNORE INTO project_accounts (project, name, body) VALUES (?, ?, ?)');
  const selectAccounts = db.prepare<{ project: string | null }, { body: string }>(
    'SELECT body FROM project_accounts WHERE (@project IS NULL OR project = @project) ORDER BY project, name',
  );
  const selectAccount = db.prepare<[string, string], { body: string }>('SELECT body FROM project_accounts WHERE project = ? AND name = ?');
  const deleteAccount = db.prepare('DELETE FROM project_accounts WHERE project = ? AND name = ?');
  const takeAccount = db.transaction((project: string, name: string): string | undefined => {
    const row = selectAccount.get(project, name);
    if (row) deleteAccount.run(project, name);
    return row?.body;
  });
  const revoke = db.prepare('UPDATE keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?');
  const selectSpend = db.prepare<{ kind: string | null; id: string | null }, CounterRow>(
    `SELECT * FROM spend WHERE (@kind IS NULL OR scope_kind = @kind) AND (@id IS NULL OR scope_id = @id)
     ORDER BY scope_kind, scope_id, period`,
  );

  const update = (table: 'projects' | 'users' | 'keys', idColumn: string, id: string, columns: Record<string, string | null>): boolean => {
    const names = Object.keys(columns);
    if (names.length === 0) return db.prepare(`SELECT 1 FROM ${table} WHERE ${idColumn} = ?`).get(id) !== undefined;
    const sql = `UPDATE ${table} SET ${names.map((name) => `${name} = @${name}`).join(', ')} WHERE ${idColumn} = @__id`;
    return db.prepare(sql).run({ ...columns, __id: id }).changes > 0;
  };

  return {
    async createProject(project) {
      write(() => insertProject.run(project.name, project.createdAt, json(project.limits), project.mode ?? null, serializeAccess(project.access) ?? null));
    },
    async getProject(name) {
      const row = read(() => selectProject.get(name));
      return row && toProject(row);
    },
    async listProjects() {
      return read(() => selectProjects.all()).map(toProject);
    },
    async updateProject(name, patch) {
      const columns: Record<string, string | null> = {};
      if (patch.limits !== undefined) columns['limits'] = json(patch.limits);
      if (patch.mode !== undefined) columns['mode'] = patch.mode;
      if (patch.access !== undefined) columns['access'] = serializeAccess(patch.access) ?? null;
      return write(() => update('projects', 'name', name, columns));
    },

    async createUser(user) {
      write(() => insertUser.run(user.name, user.createdAt, json(user.limits)));
    },
    async getUser(name) {
      const row = read(() => selectUser.get(name));
      return row && toUser(row);
    },
    async listUsers() {
      return read(() => selectUsers.all()).map(toUser);
    },
    async updateUser(name, patch) {
      return write(() => update('users', 'name', name, patch.limits === undefined ? {} : { limits: json(patch.limits) }));
    },

    async createKey(key) {
      try {
        write(() => insertKey.run({
          ...key,
          user: key.user ?? null,
          name: key.name ?? null,
          disabledAt: key.disabledAt ?? null,
          expiresAt: key.expiresAt ?? null,
          blockedUntil: key.blockedUntil ?? null,
          limits: json(key.limits),
          rateLimits: json(key.rateLimits),
          access: serializeAccess(key.access) ?? null,
        }));
      } catch (error) {
        if (isConstraintError(error)) throw new DuplicateKeyIdError(key.id);
        throw error;
      }
    },
    async getKey(id) {
      const row = read(() => selectKey.get(id));
      return row && toKeyRecord(row);
    },
    async listKeys(filter) {
      return read(() => selectKeys.all({ project: filter?.project ?? null, user: filter?.user ?? null })).map(toKeyRecord);
    },
    async revokeKey(id, at) {
      return write(() => revoke.run(at.toISOString(), id).changes > 0);
    },
    async updateKey(id, patch) {
      const columns: Record<string, string | null> = {};
      for (const [field, column] of Object.entries(KEY_COLUMNS)) {
        const value = patch[field as keyof typeof KEY_COLUMNS & keyof typeof patch];
        if (value === undefined) continue;
        columns[column] = value === null || typeof value === 'string' ? value : json(value);
      }
      if (patch.access !== undefined) columns['access'] = serializeAccess(patch.access) ?? null;
      return write(() => update('keys', 'id', id, columns));
    },

    async addProjectAccount(account) {
      return write(() => insertAccount.run(account.project, account.name, JSON.stringify(account)).changes > 0);
    },
    async listProjectAccounts(project) {
      return read(() => selectAccounts.all({ project: project ?? null })).map((row) => toAccount(row.body));
    },
    async removeProjectAccount(project, name) {
      const body = write(() => takeAccount(project, name));
      return body === undefined ? undefined : toAccount(body);
    },

    // Spend: the writer checks each commit; this only fails fast once the loss is known here.
    async reserve(reservation) {
      assertNanos(reservation.estimateNanos);
      guard.checkSometimes();
      const outcome = await writer.write({ kind: 'reserve', record: serializeReservation(reservation) });
      if (typeof outcome !== 'number') {
        const { claims } = reservation;
        if (outcome.length !== claims.length) throw new Error(`the spend writer answered for ${outcome.length} of ${claims.length} claims`);
        return { ok: true, standing: outcome.map((used, i) => standingOf(claims[i]!, used)) };
      }
      const refused = reservation.claims[outcome];
      if (!refused) throw new Error(`the spend writer refused claim ${outcome} of ${reservation.claims.length}`);
      return { ok: false, refused };
    },
    async settle(reservation, actualNanos) {
      assertNanos(actualNanos);
      guard.checkSometimes();
      return (await writer.write({ kind: 'settle', id: reservation.id, actualNanos })) === SETTLED;
    },
    async release(reservation) {
      guard.checkSometimes();
      return (await writer.write({ kind: 'release', id: reservation.id })) === SETTLED;
    },
    async expiredReservations(now, limit = 100) {
      guard.checkSometimes();
      return (await writer.expired(now.toISOString(), limit)).map(parseReservation);
    },

    async getSpend(query?: SpendQuery) {
      await writer.caughtUp();
      return read(() => selectSpend.all({ kind: query?.kind ?? null, id: query?.id ?? null }))
        .filter((row) => isSpendPeriod(row.period))
        .map(toCounter);
    },
    async close() {
      await writer.close();
      // Last, with the writer's connection closed: nothing else in this process holds the log.
      if (guard.moved()) retireLog(db);
      db.close();
    },
  };
}

function json(value: Limits | RateLimits | null | undefined): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

function parsed<T>(text: string | null): T | undefined {
  return text === null ? undefined : (JSON.parse(text) as T);
}

function toProject(row: ProjectRow): ProjectRecord {
  const limits = parsed<Limits>(row.limits);
  const access = row.access === null ? undefined : parseAccess(row.access, `project ${row.name}`);
  return {
    name: row.name,
    createdAt: row.created_at,
    ...(limits && { limits }),
    ...(row.mode !== null && { mode: row.mode === 'soft' ? 'soft' : 'strict' }),
    ...(access && { access }),
  };
}

function toUser(row: UserRow): UserRecord {
  const limits = parsed<Limits>(row.limits);
  return { name: row.name, createdAt: row.created_at, ...(limits && { limits }) };
}

function toKeyRecord(row: KeyRow): KeyRecord {
  const limits = parsed<Limits>(row.limits);
  const rateLimits = parsed<RateLimits>(row.rate_limits);
  const access = row.access === null ? undefined : parseAccess(row.access, `key ${row.id}`);
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
    ...(access && { access }),
  };
}

function toAccount(body: string): ProjectAccountRecord {
  return JSON.parse(body) as ProjectAccountRecord;
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
