import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../lambda/store/sqlite';
import type { Claim, Reservation, Store } from '../../lambda/store/port';

/**
 * The SQLite store commits the reservations and settlements of one event-loop turn together.
 * The contract (contract.ts) holds as if each were written alone; these pin the grouping itself.
 */
describe.each(['thread', 'inline'] as const)('sqlite store group commit, %s writer', (spendWriter) => {
  let dir: string;
  let store: Store;
  let n = 0;
  const cap = (amount: number, limit = 1_000): Claim => ({ scope: { kind: 'project', id: 'acme' }, period: 'month:2026-11', unit: 'nanos', amount, limit, rule: 'within' });
  const reservation = (over: Partial<Reservation> = {}): Reservation => ({
    id: `r${++n}`,
    at: new Date('2026-11-27T10:00:00Z'),
    scopes: [{ kind: 'project', id: 'acme' }],
    claims: [],
    estimateNanos: 0,
    expiresAt: new Date('2026-11-27T10:15:00Z'),
    ...over,
  });
  const month = async () => (await store.getSpend({ kind: 'project', id: 'acme' })).find((c) => c.period === 'month:2026-11');

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-group-'));
    store = openSqliteStore({ dataDir: dir, spendWriter });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails only the write that fails when one of a group cannot be written', async () => {
    // GIVEN a reservation already held
    const held = reservation({ claims: [cap(100)], estimateNanos: 100 });
    await store.reserve(held);

    // WHEN one turn asks for a new reservation, the same one again (its id is taken) and a settlement
    const fresh = reservation({ claims: [cap(200)], estimateNanos: 200 });
    const outcomes = await Promise.allSettled([store.reserve(fresh), store.reserve(held), store.settle(held, 40)]);

    // THEN the duplicate alone is refused, and the others are written
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(outcomes[2]).toEqual({ status: 'fulfilled', value: true });
    expect(await month()).toMatchObject({ nanos: 40, reservedNanos: 200, requests: 1 });
  });

  it('applies a group in the order it was asked for: a settlement frees room for a later reservation', async () => {
    // GIVEN a cap a held reservation fills
    const held = reservation({ claims: [cap(1_000)], estimateNanos: 1_000 });
    await store.reserve(held);

    // WHEN one turn settles it and then reserves again
    const [settled, next] = await Promise.all([store.settle(held, 300), store.reserve(reservation({ claims: [cap(700)], estimateNanos: 700 }))]);

    // THEN the reservation saw the refund
    expect(settled).toBe(true);
    expect(next).toMatchObject({ ok: true });
    expect(await month()).toMatchObject({ nanos: 300, reservedNanos: 700 });
  });

  it('shows a read every write asked for before it, committed or not', async () => {
    // WHEN a reservation is asked for and, in the same turn, spend is read
    const pending = store.reserve(reservation({ claims: [cap(250)], estimateNanos: 250 }));
    const seen = await month();

    // THEN the read includes it
    expect(seen).toMatchObject({ reservedNanos: 250 });
    expect(await pending).toMatchObject({ ok: true });
  });

  it('keeps everything across a reopen after a burst of grouped writes', async () => {
    // GIVEN fifty requests reserved and settled in overlapping turns
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        const r = reservation({ claims: [cap(10, 1_000_000)], estimateNanos: 10 });
        expect(await store.reserve(r)).toMatchObject({ ok: true });
        expect(await store.settle(r, 7)).toBe(true);
      }),
    );

    // WHEN the store is closed and opened again
    await store.close();
    store = openSqliteStore({ dataDir: dir, spendWriter });

    // THEN every settlement is there and nothing is left held
    expect(await month()).toMatchObject({ nanos: 350, reservedNanos: 0, requests: 50 });
    expect(await store.expiredReservations(new Date('2100-01-01T00:00:00Z'))).toEqual([]);
  });
});
