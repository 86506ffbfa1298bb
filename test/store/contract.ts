import { DuplicateKeyIdError, type KeyRecord, type Store } from '../../lambda/store/port';

/**
 * The behaviour every store adapter must share. Each adapter's test file calls this with a
 * factory that yields a fresh, empty store.
 */
export function describeStoreContract(name: string, open: () => Promise<Store>): void {
  describe(`${name} store contract`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    const key = (over: Partial<KeyRecord> = {}): KeyRecord => ({
      id: 'k1',
      hash: 'a'.repeat(64),
      prefix: 'tgk_k1',
      project: 'acme',
      createdAt: '2026-11-27T10:00:00.000Z',
      ...over,
    });

    it('creates projects idempotently and lists them by name', async () => {
      await store.createProject({ name: 'zeta', createdAt: '2026-11-27T10:00:00.000Z' });
      await store.createProject({ name: 'acme', createdAt: '2026-11-27T10:00:00.000Z' });
      await store.createProject({ name: 'acme', createdAt: '2030-01-01T00:00:00.000Z' });

      expect(await store.listProjects()).toEqual([
        { name: 'acme', createdAt: '2026-11-27T10:00:00.000Z' },
        { name: 'zeta', createdAt: '2026-11-27T10:00:00.000Z' },
      ]);
      expect(await store.getProject('acme')).toEqual({ name: 'acme', createdAt: '2026-11-27T10:00:00.000Z' });
      expect(await store.getProject('nope')).toBeUndefined();
    });

    it('stores a key record and reads it back by id', async () => {
      await store.createKey(key({ user: 'ada', name: 'laptop' }));

      expect(await store.getKey('k1')).toEqual(key({ user: 'ada', name: 'laptop' }));
      expect(await store.getKey('k2')).toBeUndefined();
    });

    it('omits absent optional fields rather than storing nulls', async () => {
      await store.createKey(key());

      expect(await store.getKey('k1')).toStrictEqual(key());
    });

    it('refuses a second key with the same id', async () => {
      await store.createKey(key());

      await expect(store.createKey(key({ hash: 'b'.repeat(64) }))).rejects.toBeInstanceOf(DuplicateKeyIdError);
      expect((await store.getKey('k1'))?.hash).toBe('a'.repeat(64));
    });

    it('lists keys, filtered by project and user', async () => {
      await store.createKey(key({ id: 'k1', project: 'acme', user: 'ada' }));
      await store.createKey(key({ id: 'k2', project: 'acme', createdAt: '2026-11-27T11:00:00.000Z' }));
      await store.createKey(key({ id: 'k3', project: 'other', user: 'ada', createdAt: '2026-11-27T12:00:00.000Z' }));

      expect((await store.listKeys()).map((k) => k.id)).toEqual(['k1', 'k2', 'k3']);
      expect((await store.listKeys({ project: 'acme' })).map((k) => k.id)).toEqual(['k1', 'k2']);
      expect((await store.listKeys({ user: 'ada' })).map((k) => k.id)).toEqual(['k1', 'k3']);
      expect((await store.listKeys({ project: 'acme', user: 'ada' })).map((k) => k.id)).toEqual(['k1']);
    });

    it('revokes a key once and keeps the first revocation time', async () => {
      await store.createKey(key());

      expect(await store.revokeKey('k1', new Date('2026-11-28T00:00:00Z'))).toBe(true);
      expect(await store.revokeKey('k1', new Date('2026-11-29T00:00:00Z'))).toBe(true);
      expect(await store.revokeKey('missing', new Date())).toBe(false);
      expect((await store.getKey('k1'))?.revokedAt).toBe('2026-11-28T00:00:00.000Z');
    });

    it('adds spend to every scope and UTC period, and counts requests', async () => {
      const scopes = [
        { kind: 'key', id: 'k1' },
        { kind: 'project', id: 'acme' },
      ] as const;

      await store.recordSpend({ scopes, at: new Date('2026-11-29T23:59:59.999Z'), nanos: 7_375_000 });
      await store.recordSpend({ scopes, at: new Date('2026-11-30T00:00:00.000Z'), nanos: 160 });

      expect(await store.getSpend({ kind: 'key', id: 'k1' })).toEqual([
        { scope: { kind: 'key', id: 'k1' }, period: 'day:2026-11-29', nanos: 7_375_000, requests: 1 },
        { scope: { kind: 'key', id: 'k1' }, period: 'day:2026-11-30', nanos: 160, requests: 1 },
        { scope: { kind: 'key', id: 'k1' }, period: 'lifetime', nanos: 7_375_160, requests: 2 },
        { scope: { kind: 'key', id: 'k1' }, period: 'month:2026-11', nanos: 7_375_160, requests: 2 },
        // Sunday the 29th closes the week that began Monday the 23rd; Monday the 30th opens a new one.
        { scope: { kind: 'key', id: 'k1' }, period: 'week:2026-11-23', nanos: 7_375_000, requests: 1 },
        { scope: { kind: 'key', id: 'k1' }, period: 'week:2026-11-30', nanos: 160, requests: 1 },
      ]);
      expect((await store.getSpend({ kind: 'project' })).map((c) => c.scope.id)).toEqual(Array(6).fill('acme'));
      expect(await store.getSpend()).toHaveLength(12);
    });

    it('keeps nano-dollar totals exact beyond 32 bits', async () => {
      const scopes = [{ kind: 'project', id: 'big' }] as const;
      const at = new Date('2026-11-27T12:00:00Z');

      await store.recordSpend({ scopes, at, nanos: 4_000_000_000_123 });
      await store.recordSpend({ scopes, at, nanos: 4_000_000_000_877 });

      const lifetime = (await store.getSpend({ kind: 'project', id: 'big' })).find((c) => c.period === 'lifetime');
      expect(lifetime?.nanos).toBe(8_000_000_001_000);
    });

    it('rejects fractional or negative amounts without recording anything', async () => {
      const scopes = [{ kind: 'key', id: 'k1' }] as const;

      await expect(store.recordSpend({ scopes, at: new Date(), nanos: 0.5 })).rejects.toThrow(RangeError);
      await expect(store.recordSpend({ scopes, at: new Date(), nanos: -1 })).rejects.toThrow(RangeError);
      expect(await store.getSpend()).toEqual([]);
    });

    it('loses no increment under concurrent writers', async () => {
      const scopes = [
        { kind: 'key', id: 'k1' },
        { kind: 'user', id: 'ada' },
      ] as const;
      const at = new Date('2026-11-27T12:00:00Z');

      await Promise.all(Array.from({ length: 50 }, () => store.recordSpend({ scopes, at, nanos: 3 })));

      for (const counter of await store.getSpend()) {
        expect(counter).toMatchObject({ nanos: 150, requests: 50 });
      }
    });
  });
}
