import Database from 'better-sqlite3';
import { join } from 'node:path';
import { preparePrivateDir, preparePrivateFile } from './data-dir';
import type { FileGuard } from './sqlite-file-guard';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS projects (
  name TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  limits TEXT,
  mode TEXT,
  access TEXT
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
  rate_limits TEXT,
  access TEXT
);
CREATE TABLE IF NOT EXISTS project_accounts (
  project TEXT NOT NULL,
  name TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (project, name)
) WITHOUT ROWID;
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

/**
 * The store's file in `dataDir` (absolute), private to this user: the directory 0700, the file
 * 0600 (see {@link preparePrivateDir}). `:memory:` for a store that lives and dies with the
 * process (tests).
 */
export function databaseFile(dataDir: string): string {
  if (dataDir === ':memory:') return dataDir;
  const file = join(preparePrivateDir(dataDir), 'tollgate.db');
  // Created 0600 before SQLite opens it: SQLite gives its log and shared memory the same mode.
  preparePrivateFile(file);
  return file;
}

/**
 * One connection to the store's file, set up the same way wherever it is opened: the gateway's
 * own thread, its spend writer thread, or a CLI command in another process. With a `guard`, the
 * file opened must be the one the guard knows, or nothing is written to it (not even the schema).
 */
export function openDatabase(file: string, guard?: FileGuard): Database.Database {
  const db = new Database(file);
  try {
    guard?.check();
  } catch (error) {
    db.close();
    throw error;
  }
  db.pragma('journal_mode = WAL');
  // NORMAL is durable across process crashes in WAL mode; only an OS crash can lose the last commits.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  // An automatic checkpoint runs inside whichever commit crosses 1000 pages and stalls its thread
  // for milliseconds (its fsyncs); a timer does it once a second instead (see the spend ledger).
  db.pragma('wal_autocheckpoint = 0');
  db.exec(SCHEMA);
  addColumns(db);
  return db;
}

/**
 * Columns added after a table was first created, which `CREATE TABLE IF NOT EXISTS` leaves out of
 * a file made by an older tollgate. Checked and added in one write transaction: the spend writer's
 * connection opens the same file at the same moment.
 */
const ADDED_COLUMNS: readonly (readonly [table: string, column: string, type: string])[] = [
  ['projects', 'access', 'TEXT'],
  ['keys', 'access', 'TEXT'],
];

function addColumns(db: Database.Database): void {
  const missing = () =>
    ADDED_COLUMNS.filter(([table, column]) => !db.prepare<[], { name: string }>(`PRAGMA table_info(${table})`).all().some((info) => info.name === column));
  if (missing().length === 0) return;
  db.transaction(() => {
    for (const [table, column, type] of missing()) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
  }).immediate();
}

/**
 * Copies the write-ahead log into the file this connection has open, then empties it. For a store
 * whose file was deleted or replaced: SQLite leaves the log at the path when it closes such a
 * file, and the next open would replay the old file's pages onto whatever file is there then (a
 * backup put back, say). Emptied, there is nothing to replay, and the old file, still readable
 * through this process, holds everything. Best effort: the file is already lost to the store.
 */
export function retireLog(db: Database.Database): void {
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch {
    // Busy past the timeout, or closed: nothing more to be done from here.
  }
}
