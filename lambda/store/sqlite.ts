import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { periodLabels } from './periods';
import {
  assertNanos,
  DuplicateKeyIdError,
  type KeyRecord,
  type ProjectRecord,
  type ScopeKind,
  type SpendCounter,
  type SpendEntry,
  type SpendQuery,
  type Store,
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
}

interface CounterRow {
  scope_kind: ScopeKind;
  scope_id: string;
  period: string;
  nanos: number | bigint;
  requests: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS projects (
  name TEXT PRIMARY KEY,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS keys (
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL,
  prefix TEXT NOT NULL,
  project TEXT NOT NULL,
  user TEXT,
  name TEXT,
  created_at TEXT NOT NULL,
  revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS spend (
  scope_kind TEXT NOT NULL,
  scope_id TEXT NOT NULL,
  period TEXT NOT NULL,
  nanos INTEGER NOT NULL DEFAULT 0,
  requests INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (scope_kind, scope_id, period)
) WITHOUT ROWID;
`;

/** The embedded store: one durable file, WAL mode, one transaction per request's spend. */
export function openSqliteStore(options: SqliteStoreOptions): Store {
  const file = options.dataDir === ':memory:' ? ':memory:' : dbFile(options.dataDir);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // NORMAL is durable across process crashes in WAL mode; only an OS crash can lose the last commits.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  db.defaultSafeIntegers(false);

  const insertProject = db.prepare('INSERT OR IGNORE INTO projects (name, created_at) VALUES (?, ?)');
  const selectProject = db.prepare<[string], ProjectRecord>('SELECT name, created_at AS createdAt FROM projects WHERE name = ?');
  const selectProjects = db.prepare<[], ProjectRecord>('SELECT name, created_at AS createdAt FROM projects ORDER BY name');
  const insertKey = db.prepare(
    'INSERT INTO keys (id, hash, prefix, project, user, name, created_at) VALUES (@id, @hash, @prefix, @project, @user, @name, @createdAt)',
  );
  const selectKey = db.prepare<[string], KeyRow>('SELECT * FROM keys WHERE id = ?');
  const selectKeys = db.prepare<{ project: string | null; user: string | null }, KeyRow>(
    'SELECT * FROM keys WHERE (@project IS NULL OR project = @project) AND (@user IS NULL OR user = @user) ORDER BY created_at, id',
  );
  const revoke = db.prepare('UPDATE keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?');
  const addSpend = db.prepare(
    `INSERT INTO spend (scope_kind, scope_id, period, nanos, requests) VALUES (?, ?, ?, ?, 1)
     ON CONFLICT (scope_kind, scope_id, period) DO UPDATE SET nanos = nanos + excluded.nanos, requests = requests + 1`,
  );
  const selectSpend = db.prepare<{ kind: string | null; id: string | null }, CounterRow>(
    `SELECT * FROM spend WHERE (@kind IS NULL OR scope_kind = @kind) AND (@id IS NULL OR scope_id = @id)
     ORDER BY scope_kind, scope_id, period`,
  );

  const recordSpend = db.transaction((entry: SpendEntry) => {
    const periods = periodLabels(entry.at);
    for (const scope of entry.scopes) {
      for (const period of periods) addSpend.run(scope.kind, scope.id, period, entry.nanos);
    }
  });

  return {
    async createProject(project) {
      insertProject.run(project.name, project.createdAt);
    },
    async getProject(name) {
      return selectProject.get(name);
    },
    async listProjects() {
      return selectProjects.all();
    },
    async createKey(key) {
      try {
        insertKey.run({ ...key, user: key.user ?? null, name: key.name ?? null });
      } catch (error) {
        if (isConstraintError(error)) throw new DuplicateKeyIdError(key.id);
        throw error;
      }
    },
    async getKey(id) {
      const row = selectKey.get(id);
      return row && toKeyRecord(row);
    },
    async listKeys(filter) {
      return selectKeys.all({ project: filter?.project ?? null, user: filter?.user ?? null }).map(toKeyRecord);
    },
    async revokeKey(id, at) {
      return revoke.run(at.toISOString(), id).changes > 0;
    },
    async recordSpend(entry) {
      assertNanos(entry.nanos);
      recordSpend(entry);
    },
    async getSpend(query?: SpendQuery) {
      return selectSpend.all({ kind: query?.kind ?? null, id: query?.id ?? null }).map(toCounter);
    },
    async close() {
      db.close();
    },
  };
}

function dbFile(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true });
  return join(dataDir, 'tollgate.db');
}

function toKeyRecord(row: KeyRow): KeyRecord {
  return {
    id: row.id,
    hash: row.hash,
    prefix: row.prefix,
    project: row.project,
    createdAt: row.created_at,
    ...(row.user !== null && { user: row.user }),
    ...(row.name !== null && { name: row.name }),
    ...(row.revoked_at !== null && { revokedAt: row.revoked_at }),
  };
}

function toCounter(row: CounterRow): SpendCounter {
  return {
    scope: { kind: row.scope_kind, id: row.scope_id },
    period: row.period,
    nanos: Number(row.nanos),
    requests: row.requests,
  };
}

/** Duck-typed: the native addon keeps the SqliteError class of the first realm that loaded it. */
function isConstraintError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && String(error.code).startsWith('SQLITE_CONSTRAINT');
}
