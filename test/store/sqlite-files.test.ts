import Database from 'better-sqlite3';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filePriceStore } from '../../lambda/prices/file-store';
import { sha256Hex } from '../../lambda/prices/store';
import type { KeyRecord, Reservation, Store } from '../../lambda/store/port';
import { openSqliteStore } from '../../lambda/store/sqlite';
import { within } from '../support/gate';

const mode = (path: string): string => (statSync(path).mode & 0o7777).toString(8);
const key = (id: string): KeyRecord => ({ id, hash: 'h', prefix: 'p', project: 'acme', createdAt: '2026-11-27T00:00:00.000Z' });
let n = 0;
const reservation = (): Reservation => ({
  id: `r${++n}`,
  at: new Date('2026-11-27T10:00:00Z'),
  scopes: [{ kind: 'key', id: 'k1' }],
  claims: [],
  estimateNanos: 40,
  expiresAt: new Date('2026-11-27T10:20:00Z'),
});

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tollgate-files-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('sqlite store files: private to the user running tollgate', () => {
  let umask: number;
  beforeEach(() => {
    // The most permissive umask: whatever the modes are, tollgate chose them.
    umask = process.umask(0);
  });
  afterEach(() => process.umask(umask));

  it('creates the data directory 0700 and the database, its log and shared memory 0600', async () => {
    // GIVEN a data directory that does not exist yet
    const dir = join(root, 'nested', 'data');

    // WHEN a store is opened there and spend is written (the writer thread opens its own connection)
    const store = openSqliteStore({ dataDir: dir });
    const r = reservation();
    await store.reserve(r);
    await store.settle(r, 40);

    // THEN
    expect(readdirSync(dir).sort()).toEqual(['tollgate.db', 'tollgate.db-shm', 'tollgate.db-wal']);
    expect(mode(dir)).toBe('700');
    for (const name of ['tollgate.db', 'tollgate.db-wal', 'tollgate.db-shm']) expect([name, mode(join(dir, name))]).toEqual([name, '600']);
    await store.close();
  });

  it('stores the refreshed price copy 0600 in a 0700 directory', async () => {
    // GIVEN
    const dir = join(root, 'data');
    const data = Buffer.from('[]');

    // WHEN
    await filePriceStore(dir).save({ data, sha256: sha256Hex(data), source: 'test', fetchedAt: '2026-11-27T00:00:00Z', checkedAt: '2026-11-27T00:00:00Z' });

    // THEN
    expect(mode(dir)).toBe('700');
    expect(readdirSync(dir).sort()).toEqual(['genai-prices.json', 'genai-prices.meta.json']);
    for (const name of readdirSync(dir)) expect([name, mode(join(dir, name))]).toEqual([name, '600']);
  });

  it('tightens a data directory of its own that an older version left readable, and the files in it', async () => {
    // GIVEN a data directory holding only tollgate's files, all readable by anyone
    const dir = join(root, 'data');
    const earlier = openSqliteStore({ dataDir: dir });
    await earlier.createKey(key('k1'));
    await earlier.close();
    writeFileSync(join(dir, 'genai-prices.json'), '[]');
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'tollgate.db'), 0o644);
    chmodSync(join(dir, 'genai-prices.json'), 0o644);

    // WHEN the store opens it again
    const store = openSqliteStore({ dataDir: dir });

    // THEN it is private again, and nothing was lost
    expect(mode(dir)).toBe('700');
    for (const name of readdirSync(dir)) expect([name, mode(join(dir, name))]).toEqual([name, '600']);
    expect((await store.getKey('k1'))?.project).toBe('acme');
    await store.close();
  });

  it('leaves a directory shared with other files as it is, but keeps its own files private', async () => {
    // GIVEN a project directory with other things in it
    const dir = join(root, 'project');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'README.md'), 'hello');
    chmodSync(join(dir, 'README.md'), 0o644);

    // WHEN
    const store = openSqliteStore({ dataDir: dir });
    await store.createKey(key('k1'));

    // THEN
    expect(mode(dir)).toBe('755');
    expect(mode(join(dir, 'README.md'))).toBe('644');
    for (const name of ['tollgate.db', 'tollgate.db-wal', 'tollgate.db-shm']) expect([name, mode(join(dir, name))]).toEqual([name, '600']);
    await store.close();
  });

  it('refuses a directory shared with other users, such as /tmp itself, and changes nothing in it', () => {
    // GIVEN a sticky, world-writable directory with someone else's file in it
    const shared = join(root, 'tmp');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    writeFileSync(join(shared, 'someone-else'), '');

    // WHEN / THEN
    expect(() => openSqliteStore({ dataDir: shared })).toThrow(/shared with other users \(mode 1777\).*Point TOLLGATE_DATA_DIR at a directory of its own/);
    expect(mode(shared)).toBe('1777');
    expect(readdirSync(shared)).toEqual(['someone-else']);
  });
});

describe.each(['thread', 'inline'] as const)('a sqlite store whose file is deleted or replaced while open (%s writer)', (spendWriter) => {
  let dir: string;
  let store: Store;
  const file = () => join(dir, 'tollgate.db');

  beforeEach(async () => {
    dir = join(root, 'data');
    store = openSqliteStore({ dataDir: dir, spendWriter });
    await store.createKey(key('k1'));
    const r = reservation();
    await store.reserve(r);
    await store.settle(r, 40);
  });
  afterEach(async () => {
    await store.close();
  });

  it('refuses reservations, settlements and key changes once the file is deleted, and says what to do', async () => {
    // GIVEN a reservation held before
    const held = reservation();
    expect(await store.reserve(held)).toMatchObject({ ok: true });

    // WHEN the file is deleted under the open store
    unlinkSync(file());

    // THEN nothing more is written into it: each write fails with what happened and how to fix it
    const error = await store.reserve(reservation()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(`The store's file ${file()} was deleted while tollgate had it open`);
    expect((error as Error).message).toMatch(/refuses every request that needs the store.*restart tollgate/i);
    // AND on Linux it names where the old file can still be copied from, with all it held
    const rescue = new RegExp(`cp (/proc/${process.pid}/fd/\\d+) `).exec((error as Error).message)?.[1];
    expect(rescue).toBeDefined();
    mkdirSync(join(root, 'rescued'));
    copyFileSync(rescue ?? '', join(root, 'rescued', 'tollgate.db'));
    const rescued = openSqliteStore({ dataDir: join(root, 'rescued') });
    expect((await rescued.getKey('k1'))?.project).toBe('acme');
    expect((await rescued.getSpend()).find((c) => c.period === 'lifetime')).toMatchObject({ nanos: 40, requests: 1 });
    await rescued.close();
    await expect(store.settle(held, 10)).rejects.toThrow(/was deleted/);
    await expect(store.createKey(key('k2'))).rejects.toThrow(/was deleted/);
    await expect(store.revokeKey('k1', new Date())).rejects.toThrow(/was deleted/);
    // AND reads follow within a second (until then they see what was true a moment ago)
    await within(waitForRejection(() => store.getKey('k1')), 3_000, 'key reads were never refused');
    await expect(store.getSpend()).rejects.toThrow(/was deleted/);
  });

  it('refuses them once another database is renamed over the file', async () => {
    // GIVEN another valid database
    const other = join(root, 'other.db');
    const db = new Database(other);
    db.exec('CREATE TABLE t (x)');
    db.close();

    // WHEN it replaces the store's file
    renameSync(other, file());

    // THEN
    await expect(store.reserve(reservation())).rejects.toThrow(`The store's file ${file()} was replaced by another file`);
    await expect(store.createKey(key('k2'))).rejects.toThrow(/was replaced/);
  });

  it.each(['-wal', '-shm'])('refuses them once the %s file is deleted, and keeps the data in the database', async (suffix) => {
    // WHEN
    unlinkSync(`${file()}${suffix}`);

    // THEN
    await expect(store.reserve(reservation())).rejects.toThrow(`The store's file ${file()}${suffix} was deleted`);
    await expect(store.reserve(reservation())).rejects.toThrow(`the keys and spend are in ${file()}`);

    // AND after a restart, they are
    await store.close();
    store = openSqliteStore({ dataDir: dir, spendWriter });
    expect((await store.getKey('k1'))?.project).toBe('acme');
    expect((await store.getSpend()).find((c) => c.period === 'lifetime')).toMatchObject({ nanos: 40, requests: 1 });
  });

  it('opens a fresh store at the path after a restart, and the file put there is used intact', async () => {
    // GIVEN the file deleted and the store failing
    unlinkSync(file());
    await expect(store.reserve(reservation())).rejects.toThrow(/was deleted/);

    // WHEN it is reopened: an empty store, working
    await store.close();
    store = openSqliteStore({ dataDir: dir, spendWriter });
    expect(await store.getKey('k1')).toBeUndefined();
    const r = reservation();
    expect(await store.reserve(r)).toMatchObject({ ok: true });
    expect(await store.settle(r, 7)).toBe(true);
    expect((await store.getSpend()).find((c) => c.period === 'lifetime')?.nanos).toBe(7);

    // AND a store whose file was replaced by a copy taken earlier reopens on that copy, intact
    await store.createKey(key('k3'));
    await store.close();
    const copy = openSqliteStore({ dataDir: join(root, 'copy') });
    await copy.createKey(key('restored'));
    await copy.close();
    store = openSqliteStore({ dataDir: dir, spendWriter });
    await store.createKey(key('k4'));
    renameSync(join(root, 'copy', 'tollgate.db'), file());
    await expect(store.createKey(key('k5'))).rejects.toThrow(/was replaced/);
    await store.close();
    store = openSqliteStore({ dataDir: dir, spendWriter });
    expect((await store.listKeys()).map((k) => k.id)).toEqual(['restored']);
  });
});

/** Resolves once `read` rejects, trying every 50 ms. */
async function waitForRejection(read: () => Promise<unknown>): Promise<void> {
  for (;;) {
    if (await read().then(() => false, () => true)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
