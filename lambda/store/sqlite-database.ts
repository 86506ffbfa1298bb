import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

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

/** `:memory:` for a store that lives and dies with the process (tests). */
export function databaseFile(dataDir: string): string {
  if (dataDir === ':memory:') return dataDir;
  mkdirSync(dataDir, { recursive: true });
  return join(dataDir, 'tollgate.db');
}

/**
 * One connection to the store's file, set up the same way wherever it is opened: the gateway's
 * own thread, its spend writer thread, or a CLI command in another process.
 */
export function openDatabase(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // NORMAL is durable across process crashes in WAL mode; only an OS crash can lose the last commits.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  // An automatic checkpoint runs inside whichever commit crosses 1000 pages and stalls its thread
  // for milliseconds (its fsyncs); a timer does it once a second instead (see the spend ledger).
  db.pragma('wal_autocheckpoint = 0');
  db.exec(SCHEMA);
  return db;
}
