import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../lambda/store/sqlite';
import { describeStoreContract } from './contract';

describeStoreContract('sqlite (in memory)', async () => openSqliteStore({ dataDir: ':memory:' }));
const dirs: string[] = [];
const freshDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-contract-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
// On a file, spend is written by a thread of its own, through a second connection.
describeStoreContract('sqlite (file, writer thread)', async () => openSqliteStore({ dataDir: freshDir() }));
describeStoreContract('sqlite (file, inline writer)', async () => openSqliteStore({ dataDir: freshDir(), spendWriter: 'inline' }));

describe('sqlite store on disk', () => {
  it('keeps keys and spend across a reopen', async () => {
    // GIVEN a store in a fresh data directory with one key and some spend
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-sqlite-'));
    try {
      const first = openSqliteStore({ dataDir: join(dir, 'nested') });
      await first.createKey({ id: 'k1', hash: 'h', prefix: 'p', project: 'acme', createdAt: '2026-11-27T00:00:00.000Z' });
      const r = { id: 'r1', at: new Date(), scopes: [{ kind: 'key', id: 'k1' }] as const, claims: [], estimateNanos: 42, expiresAt: new Date() };
      await first.reserve(r);
      await first.settle(r, 42);
      await first.close();

      // WHEN it is reopened
      const second = openSqliteStore({ dataDir: join(dir, 'nested') });

      // THEN everything is still there
      expect((await second.getKey('k1'))?.project).toBe('acme');
      expect((await second.getSpend()).find((c) => c.period === 'lifetime')?.nanos).toBe(42);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a store file made before access lists', () => {
  it('gains the access columns when opened, keeping its keys and projects', async () => {
    // GIVEN a file with the tables as they were before access lists, holding a key and a project
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-sqlite-old-'));
    try {
      const old = new Database(join(dir, 'tollgate.db'));
      old.exec(`
        CREATE TABLE projects (name TEXT PRIMARY KEY, created_at TEXT NOT NULL, limits TEXT, mode TEXT);
        CREATE TABLE keys (id TEXT PRIMARY KEY, hash TEXT NOT NULL, prefix TEXT NOT NULL, project TEXT NOT NULL, user TEXT, name TEXT,
          created_at TEXT NOT NULL, revoked_at TEXT, disabled_at TEXT, expires_at TEXT, blocked_until TEXT, limits TEXT, rate_limits TEXT);
        INSERT INTO projects VALUES ('acme', '2026-11-27T00:00:00.000Z', '{"daily":5}', NULL);
        INSERT INTO keys (id, hash, prefix, project, created_at) VALUES ('k1', 'h', 'p', 'acme', '2026-11-27T00:00:00.000Z');
      `);
      old.close();

      // WHEN today's store opens it (its spend writer thread opens it too)
      const store = openSqliteStore({ dataDir: dir });
      try {
        // THEN the records read as before, and take access lists
        expect(await store.getKey('k1')).toStrictEqual({ id: 'k1', hash: 'h', prefix: 'p', project: 'acme', createdAt: '2026-11-27T00:00:00.000Z' });
        expect(await store.updateKey('k1', { access: { models: ['gpt-5*'] } })).toBe(true);
        expect(await store.updateProject('acme', { access: { routes: ['openai'] } })).toBe(true);
        expect((await store.getKey('k1'))?.access).toEqual({ models: ['gpt-5*'] });
        expect(await store.getProject('acme')).toEqual({ name: 'acme', createdAt: '2026-11-27T00:00:00.000Z', limits: { daily: 5 }, access: { routes: ['openai'] } });
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
