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
