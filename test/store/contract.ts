import { DuplicateKeyIdError, type Claim, type KeyRecord, type ProjectAccountRecord, type Reservation, type Scope, type Store } from '../../lambda/store/port';

let reservations = 0;

function reservation(over: Partial<Reservation> = {}): Reservation {
  return {
    id: `r${++reservations}`,
    at: new Date('2026-11-27T10:00:00Z'),
    scopes: [],
    claims: [],
    estimateNanos: 0,
    expiresAt: new Date('2026-11-27T10:15:00Z'),
    ...over,
  };
}

async function reserveAndSettle(store: Store, over: Partial<Reservation>, nanos: number): Promise<void> {
  const r = reservation(over);
  expect(await store.reserve(r)).toMatchObject({ ok: true });
  expect(await store.settle(r, nanos)).toBe(true);
}

/** A strict spend cap on one scope and period, as a claim of the given amount. */
function capOn(scope: Scope, period: string, limit: number): (amount: number) => Claim {
  return (amount) => ({ scope, period, unit: 'nanos', amount, limit, rule: 'within' });
}

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

    it('settles actual spend into every scope and UTC period, and counts requests', async () => {
      const scopes = [
        { kind: 'key', id: 'k1' },
        { kind: 'project', id: 'acme' },
      ] as const;

      await reserveAndSettle(store, { scopes, at: new Date('2026-11-29T23:59:59.999Z') }, 7_375_000);
      await reserveAndSettle(store, { scopes, at: new Date('2026-11-30T00:00:00.000Z') }, 160);

      const counter = (period: string, nanos: number, requests: number) => ({ scope: { kind: 'key', id: 'k1' }, period, nanos, reservedNanos: 0, requests });
      expect(await store.getSpend({ kind: 'key', id: 'k1' })).toEqual([
        counter('day:2026-11-29', 7_375_000, 1),
        counter('day:2026-11-30', 160, 1),
        counter('lifetime', 7_375_160, 2),
        counter('month:2026-11', 7_375_160, 2),
        // Sunday the 29th closes the week that began Monday the 23rd; Monday the 30th opens a new one.
        counter('week:2026-11-23', 7_375_000, 1),
        counter('week:2026-11-30', 160, 1),
      ]);
      expect((await store.getSpend({ kind: 'project' })).map((c) => c.scope.id)).toEqual(Array(6).fill('acme'));
      expect(await store.getSpend()).toHaveLength(12);
    });

    it('keeps nano-dollar totals exact beyond 32 bits', async () => {
      const scopes = [{ kind: 'project', id: 'big' }] as const;

      await reserveAndSettle(store, { scopes }, 4_000_000_000_123);
      await reserveAndSettle(store, { scopes }, 4_000_000_000_877);

      const lifetime = (await store.getSpend({ kind: 'project', id: 'big' })).find((c) => c.period === 'lifetime');
      expect(lifetime?.nanos).toBe(8_000_000_001_000);
    });

    it('rejects fractional or negative amounts without recording anything', async () => {
      const r = reservation({ scopes: [{ kind: 'key', id: 'k1' }] });
      expect(await store.reserve(r)).toMatchObject({ ok: true });

      await expect(store.settle(r, 0.5)).rejects.toThrow(RangeError);
      await expect(store.settle(r, -1)).rejects.toThrow(RangeError);
      await expect(store.reserve({ ...reservation(), estimateNanos: 1.5 })).rejects.toThrow(RangeError);
      expect(await store.getSpend()).toEqual([]);
    });

    it('loses no increment under concurrent settlements', async () => {
      const scopes = [
        { kind: 'key', id: 'k1' },
        { kind: 'user', id: 'ada' },
      ] as const;

      await Promise.all(Array.from({ length: 50 }, () => reserveAndSettle(store, { scopes }, 3)));

      for (const counter of await store.getSpend()) expect(counter).toMatchObject({ nanos: 150, requests: 50, reservedNanos: 0 });
    });

    it('holds a reservation against its cap until it settles, then refunds the unused part', async () => {
      const monthly = capOn({ kind: 'project', id: 'acme' }, 'month:2026-11', 1_000);
      const r1 = reservation({ scopes: [{ kind: 'project', id: 'acme' }], claims: [monthly(700)], estimateNanos: 700 });

      expect(await store.reserve(r1)).toMatchObject({ ok: true });
      expect(await store.reserve(reservation({ claims: [monthly(400)], estimateNanos: 400 }))).toEqual({ ok: false, refused: monthly(400) });
      expect((await store.getSpend({ kind: 'project', id: 'acme' })).find((c) => c.period === 'month:2026-11')).toMatchObject({ nanos: 0, reservedNanos: 700 });

      expect(await store.settle(r1, 250)).toBe(true);

      expect((await store.getSpend({ kind: 'project', id: 'acme' })).find((c) => c.period === 'month:2026-11')).toMatchObject({ nanos: 250, reservedNanos: 0 });
      expect(await store.reserve(reservation({ claims: [monthly(750)], estimateNanos: 750 }))).toMatchObject({ ok: true });
      expect(await store.reserve(reservation({ claims: [monthly(1)], estimateNanos: 1 }))).toMatchObject({ ok: false });
    });

    it('applies every claim or none: a later refusal rolls back the earlier ones', async () => {
      const keyCap = capOn({ kind: 'key', id: 'k1' }, 'day:2026-11-27', 10_000);
      const projectCap = capOn({ kind: 'project', id: 'acme' }, 'day:2026-11-27', 100);

      const outcome = await store.reserve(reservation({ claims: [keyCap(500), projectCap(500)], estimateNanos: 500 }));

      expect(outcome).toEqual({ ok: false, refused: projectCap(500) });
      expect(await store.getSpend()).toEqual(expect.not.arrayContaining([expect.objectContaining({ reservedNanos: 500 })]));
      expect(await store.expiredReservations(new Date('2100-01-01T00:00:00Z'))).toEqual([]);
      expect(await store.reserve(reservation({ claims: [keyCap(10_000)], estimateNanos: 10_000 }))).toMatchObject({ ok: true });
    });

    it('settles a reservation once: a second settlement changes nothing', async () => {
      const r = reservation({ scopes: [{ kind: 'key', id: 'k1' }] });
      await store.reserve(r);

      expect(await store.settle(r, 40)).toBe(true);
      expect(await store.settle(r, 40)).toBe(false);

      expect((await store.getSpend()).find((c) => c.period === 'lifetime')).toMatchObject({ nanos: 40, requests: 1 });
    });

    it('lists reservations nobody settled once they expire, so they can be reconciled', async () => {
      const cap = capOn({ kind: 'project', id: 'acme' }, 'month:2026-11', 1_000);
      const stale = reservation({ id: 'stale', scopes: [{ kind: 'project', id: 'acme' }], claims: [cap(600)], estimateNanos: 600, expiresAt: new Date('2026-11-27T10:05:00Z') });
      const fresh = reservation({ id: 'fresh', claims: [cap(100)], estimateNanos: 100, expiresAt: new Date('2026-11-27T10:20:00Z') });
      await store.reserve(stale);
      await store.reserve(fresh);

      expect(await store.expiredReservations(new Date('2026-11-27T10:04:59.999Z'))).toEqual([]);
      const expired = await store.expiredReservations(new Date('2026-11-27T10:05:00Z'));

      expect(expired).toEqual([stale]);
      expect(await store.settle(expired[0]!, expired[0]!.estimateNanos)).toBe(true);
      expect((await store.getSpend({ kind: 'project', id: 'acme' })).find((c) => c.period === 'month:2026-11')).toMatchObject({ nanos: 600, reservedNanos: 100 });
      expect(await store.expiredReservations(new Date('2026-11-27T10:10:00Z'))).toEqual([]);
    });

    it('lets exactly as many concurrent reservations through as the cap holds', async () => {
      const cap = capOn({ kind: 'user', id: 'ada' }, 'week:2026-11-23', 1_000);

      const outcomes = await Promise.all(Array.from({ length: 40 }, () => store.reserve(reservation({ claims: [cap(100)], estimateNanos: 100 }))));

      expect(outcomes.filter((o) => o.ok)).toHaveLength(10);
      expect((await store.getSpend({ kind: 'user', id: 'ada' })).find((c) => c.period === 'week:2026-11-23')).toMatchObject({ reservedNanos: 1_000 });
    });

    it('holds a week, month or lifetime cap against the spend of the period\'s earlier days, and a day cap against its own day only', async () => {
      // GIVEN spend settled on earlier days: the 3rd and the 26th (yesterday) of November, and October
      const scopes = [{ kind: 'project', id: 'acme' }] as const;
      await reserveAndSettle(store, { scopes, at: new Date('2026-10-30T10:00:00Z') }, 250);
      await reserveAndSettle(store, { scopes, at: new Date('2026-11-03T10:00:00Z') }, 300);
      await reserveAndSettle(store, { scopes, at: new Date('2026-11-26T23:59:59Z') }, 200);
      const today = (claim: Claim) => reservation({ scopes, claims: [claim], estimateNanos: claim.amount });
      const project = { kind: 'project', id: 'acme' } as const;
      const monthly = capOn(project, 'month:2026-11', 1_000);
      const weekly = capOn(project, 'week:2026-11-23', 600);
      const lifetime = capOn(project, 'lifetime', 1_200);
      const daily = capOn(project, 'day:2026-11-27', 100);

      // THEN on the 27th each cap has the room its period left: month 1000 − 500, week 600 − 200, lifetime 1200 − 750, day 100
      expect(await store.reserve(today(monthly(501)))).toEqual({ ok: false, refused: monthly(501) });
      expect(await store.reserve(today(weekly(401)))).toEqual({ ok: false, refused: weekly(401) });
      expect(await store.reserve(today(lifetime(451)))).toEqual({ ok: false, refused: lifetime(451) });
      expect(await store.reserve(today(daily(101)))).toEqual({ ok: false, refused: daily(101) });
      // AND with several caps on one scope, the one without room refuses, and is named
      expect(await store.reserve(reservation({ scopes, claims: [weekly(60), monthly(501)], estimateNanos: 501 }))).toEqual({ ok: false, refused: monthly(501) });
      expect(await store.reserve(reservation({ scopes, claims: [monthly(401), weekly(401)], estimateNanos: 401 }))).toEqual({ ok: false, refused: weekly(401) });
      expect(await store.reserve(reservation({ scopes, claims: [monthly(400), weekly(400), lifetime(400)], estimateNanos: 400 }))).toMatchObject({ ok: true });
    });

    it('admits under a soft cap while settled spend is below it, whatever is in flight', async () => {
      const soft = (limit: number): Claim => ({ scope: { kind: 'project', id: 'acme' }, period: 'lifetime', unit: 'nanos', amount: 0, limit, rule: 'under' });
      const scopes = [{ kind: 'project', id: 'acme' }] as const;

      expect(await store.reserve(reservation({ scopes, claims: [soft(100)] }))).toMatchObject({ ok: true });
      await reserveAndSettle(store, { scopes }, 100);

      expect(await store.reserve(reservation({ scopes, claims: [soft(100)] }))).toEqual({ ok: false, refused: soft(100) });
      expect(await store.reserve(reservation({ scopes, claims: [soft(101)] }))).toMatchObject({ ok: true });
    });

    it('releases in-flight claims on settlement but keeps request-rate counts', async () => {
      const key = { kind: 'key', id: 'k1' } as const;
      const inflight: Claim = { scope: key, period: 'inflight', unit: 'inflight', amount: 1, limit: 1, rule: 'within' };
      const perMinute: Claim = { scope: key, period: 'minute:2026-11-27T10:00', unit: 'requests', amount: 1, limit: 2, rule: 'within' };
      const first = reservation({ scopes: [key], claims: [inflight, perMinute] });

      expect(await store.reserve(first)).toMatchObject({ ok: true });
      expect(await store.reserve(reservation({ scopes: [key], claims: [inflight, perMinute] }))).toEqual({ ok: false, refused: inflight });
      await store.settle(first, 5);
      expect(await store.reserve(reservation({ scopes: [key], claims: [inflight, perMinute] }))).toMatchObject({ ok: true });
      expect(await store.reserve(reservation({ scopes: [key], claims: [perMinute] }))).toEqual({ ok: false, refused: perMinute });

      // Rate counters are bookkeeping, not spend.
      expect((await store.getSpend()).map((c) => c.period).sort()).toEqual(['day:2026-11-27', 'lifetime', 'month:2026-11', 'week:2026-11-23']);
    });

    it('releases a reservation without recording spend or a request: its claims are handed back, once', async () => {
      // GIVEN a reservation holding a spend cap and an in-flight slot, on a scope with spend already settled
      const key = { kind: 'key', id: 'k1' } as const;
      const cap = capOn(key, 'month:2026-11', 1_000);
      const inflight: Claim = { scope: key, period: 'inflight', unit: 'inflight', amount: 1, limit: 1, rule: 'within' };
      await reserveAndSettle(store, { scopes: [key] }, 300);
      const held = reservation({ scopes: [key], claims: [cap(700), inflight] });
      expect(await store.reserve(held)).toMatchObject({ ok: true });
      expect(await store.reserve(reservation({ scopes: [key], claims: [cap(1)] }))).toEqual({ ok: false, refused: cap(1) });

      // WHEN it is released
      expect(await store.release(held)).toBe(true);

      // THEN the spend and request counts are as before it, nothing is held, and the claims are free again
      const counters = await store.getSpend({ kind: 'key', id: 'k1' });
      expect(counters).toHaveLength(4);
      for (const counter of counters) expect(counter).toMatchObject({ nanos: 300, reservedNanos: 0, requests: 1 });
      expect(await store.reserve(reservation({ scopes: [key], claims: [cap(700), inflight] }))).toMatchObject({ ok: true });
      // AND it cannot be released or settled a second time
      expect(await store.release(held)).toBe(false);
      expect(await store.settle(held, 5)).toBe(false);
      expect((await store.getSpend({ kind: 'key', id: 'k1' }))[0]).toMatchObject({ nanos: 300, requests: 1 });
    });

    describe('says where each cap stands once a reservation is granted', () => {
      const key = { kind: 'key', id: 'k1' } as const;
      const project = { kind: 'project', id: 'acme' } as const;
      const scopes = [key, project];
      /** The spend counter a claim is checked on, as `getSpend` reports it. */
      const counterOf = async (scope: Scope, period: string) => (await store.getSpend({ kind: scope.kind, id: scope.id })).find((c) => c.period === period);

      it('strict caps: what is settled and held, this request included, and the room left, one reservation after another', async () => {
        // GIVEN a key's daily cap and its project's monthly cap
        const daily = capOn(key, 'day:2026-11-27', 1_000);
        const monthly = capOn(project, 'month:2026-11', 5_000);
        const request = (amount: number) => reservation({ scopes, claims: [daily(amount), monthly(amount)], estimateNanos: amount });

        // WHEN one reservation is granted THEN each claim's standing counts it
        const first = request(300);
        expect(await store.reserve(first)).toEqual({ ok: true, standing: [{ used: 300, remaining: 700 }, { used: 300, remaining: 4_700 }] });
        // AND a second one counts both
        expect(await store.reserve(request(200))).toEqual({ ok: true, standing: [{ used: 500, remaining: 500 }, { used: 500, remaining: 4_500 }] });

        // WHEN the first settles for less than it held THEN the next one stands on what was spent, not what was held
        await store.settle(first, 100);
        const third = await store.reserve(request(50));
        expect(third).toEqual({ ok: true, standing: [{ used: 350, remaining: 650 }, { used: 350, remaining: 4_650 }] });
        // AND that is what the store reports as settled plus held
        const day = await counterOf(key, 'day:2026-11-27');
        expect(day!.nanos + day!.reservedNanos).toBe(350);

        // AND a claim that fills its cap leaves nothing
        expect(await store.reserve(reservation({ scopes, claims: [daily(650)], estimateNanos: 650 }))).toEqual({ ok: true, standing: [{ used: 1_000, remaining: 0 }] });
      });

      it('soft caps: settled spend only, whatever is in flight; nothing left once it is spent past the cap', async () => {
        const soft = (limit: number): Claim => ({ scope: project, period: 'lifetime', unit: 'nanos', amount: 0, limit, rule: 'under' });
        await reserveAndSettle(store, { scopes }, 300);
        const held = reservation({ scopes, claims: [capOn(project, 'month:2026-11', 10_000)(2_000)], estimateNanos: 2_000 });
        await store.reserve(held);

        expect(await store.reserve(reservation({ scopes, claims: [soft(1_000)] }))).toEqual({ ok: true, standing: [{ used: 300, remaining: 700 }] });

        // Settled past the cap while it was admitted: a soft cap overshoots, and has nothing left
        await store.settle(held, 1_500);
        expect(await store.reserve(reservation({ scopes, claims: [soft(1_801)] }))).toEqual({ ok: true, standing: [{ used: 1_800, remaining: 1 }] });
        expect(await store.reserve(reservation({ scopes, claims: [soft(2_000)] }))).toEqual({ ok: true, standing: [{ used: 1_800, remaining: 200 }] });
      });

      it('request-rate and in-flight caps: requests this minute and requests in flight, this one included', async () => {
        const inflight: Claim = { scope: key, period: 'inflight', unit: 'inflight', amount: 1, limit: 3, rule: 'within' };
        const perMinute: Claim = { scope: key, period: 'minute:2026-11-27T10:00', unit: 'requests', amount: 1, limit: 5, rule: 'within' };
        const request = () => reservation({ scopes: [key], claims: [perMinute, inflight] });

        const first = request();
        expect(await store.reserve(first)).toEqual({ ok: true, standing: [{ used: 1, remaining: 4 }, { used: 1, remaining: 2 }] });
        expect(await store.reserve(request())).toEqual({ ok: true, standing: [{ used: 2, remaining: 3 }, { used: 2, remaining: 1 }] });
        // A finished request leaves its slot, not its count
        await store.settle(first, 5);
        expect(await store.reserve(request())).toEqual({ ok: true, standing: [{ used: 3, remaining: 2 }, { used: 2, remaining: 1 }] });
      });

      it('caps on longer periods stand on their earlier days too, and in the reservation’s order', async () => {
        // GIVEN spend settled on the 3rd and the 26th (yesterday) of November, and in October
        await reserveAndSettle(store, { scopes: [project], at: new Date('2026-10-30T10:00:00Z') }, 250);
        await reserveAndSettle(store, { scopes: [project], at: new Date('2026-11-03T10:00:00Z') }, 300);
        await reserveAndSettle(store, { scopes: [project], at: new Date('2026-11-26T23:59:59Z') }, 200);
        const caps = (amount: number): Claim[] => [
          capOn(project, 'month:2026-11', 1_000)(amount),
          capOn(project, 'week:2026-11-23', 600)(amount),
          capOn(project, 'lifetime', 1_200)(amount),
          capOn(project, 'day:2026-11-27', 300)(amount),
          // A soft cap beside them stands on settled spend: the month's earlier days, nothing held today
          { scope: project, period: 'month:2026-11', unit: 'nanos', amount: 0, limit: 2_000, rule: 'under' },
        ];

        // WHEN two requests reserve on the 27th
        const first = await store.reserve(reservation({ scopes: [project], claims: caps(100), estimateNanos: 100 }));
        const second = await store.reserve(reservation({ scopes: [project], claims: caps(50), estimateNanos: 50 }));

        // THEN each cap counts its period's earlier days (month 500, week 200, lifetime 750, day 0) and what today holds
        expect(first).toEqual({
          ok: true,
          standing: [
            { used: 600, remaining: 400 },
            { used: 300, remaining: 300 },
            { used: 850, remaining: 350 },
            { used: 100, remaining: 200 },
            { used: 500, remaining: 1_500 },
          ],
        });
        expect(second).toEqual({
          ok: true,
          standing: [
            { used: 650, remaining: 350 },
            { used: 350, remaining: 250 },
            { used: 900, remaining: 300 },
            { used: 150, remaining: 150 },
            { used: 500, remaining: 1_500 },
          ],
        });
        // AND each agrees with the store's own totals of settled plus held
        const month = await counterOf(project, 'month:2026-11');
        expect(month!.nanos + month!.reservedNanos).toBe(650);
      });
    });

    it('patches limits, modes and key states, and clears them with null', async () => {
      await store.createProject({ name: 'acme', createdAt: '2026-11-27T10:00:00.000Z' });
      await store.createUser({ name: 'ada', createdAt: '2026-11-27T10:00:00.000Z' });
      await store.createKey(key());

      expect(await store.updateProject('acme', { limits: { monthly: 50_000_000_000 }, mode: 'soft' })).toBe(true);
      expect(await store.updateUser('ada', { limits: { daily: 1_000 } })).toBe(true);
      expect(await store.updateKey('k1', { disabledAt: '2026-11-27T11:00:00.000Z', expiresAt: '2027-01-01T00:00:00.000Z', limits: { lifetime: 9 }, rateLimits: { requestsPerMinute: 60 } })).toBe(true);
      expect(await store.updateProject('nope', { mode: 'soft' })).toBe(false);
      expect(await store.updateUser('nope', { limits: null })).toBe(false);
      expect(await store.updateKey('nope', { disabledAt: null })).toBe(false);

      expect(await store.getProject('acme')).toEqual({ name: 'acme', createdAt: '2026-11-27T10:00:00.000Z', limits: { monthly: 50_000_000_000 }, mode: 'soft' });
      expect(await store.listUsers()).toEqual([{ name: 'ada', createdAt: '2026-11-27T10:00:00.000Z', limits: { daily: 1_000 } }]);
      expect(await store.getKey('k1')).toMatchObject({ disabledAt: '2026-11-27T11:00:00.000Z', expiresAt: '2027-01-01T00:00:00.000Z', limits: { lifetime: 9 }, rateLimits: { requestsPerMinute: 60 } });

      await store.updateKey('k1', { disabledAt: null, limits: null });
      await store.updateProject('acme', { limits: null });

      expect(await store.getKey('k1')).toStrictEqual(key({ expiresAt: '2027-01-01T00:00:00.000Z', rateLimits: { requestsPerMinute: 60 } }));
      expect(await store.getProject('acme')).toEqual({ name: 'acme', createdAt: '2026-11-27T10:00:00.000Z', mode: 'soft' });
      expect(await store.getUser('ada')).toEqual({ name: 'ada', createdAt: '2026-11-27T10:00:00.000Z', limits: { daily: 1_000 } });
      expect(await store.getUser('bob')).toBeUndefined();
    });

    it('keeps access lists on keys and projects, replaces them whole, and clears them', async () => {
      // GIVEN a project and a key created with lists
      const projectLists = { routes: ['openai', 'anthropic'], models: ['gpt-5*', 'claude-?-*'] };
      await store.createProject({ name: 'acme', createdAt: '2026-11-27T10:00:00.000Z', access: projectLists });
      await store.createKey(key({ access: { models: ['gpt-5-mini'] } }));

      // THEN they read back as given, in order, on get and list alike
      expect(await store.getProject('acme')).toEqual({ name: 'acme', createdAt: '2026-11-27T10:00:00.000Z', access: projectLists });
      expect((await store.listProjects())[0]?.access).toEqual(projectLists);
      expect((await store.getKey('k1'))?.access).toStrictEqual({ models: ['gpt-5-mini'] });
      expect((await store.listKeys())[0]?.access).toStrictEqual({ models: ['gpt-5-mini'] });

      // WHEN patched: a patch replaces the lists whole, and leaves the other fields alone
      expect(await store.updateKey('k1', { access: { routes: ['openai'] }, limits: { daily: 5 } })).toBe(true);
      expect(await store.updateProject('acme', { mode: 'soft' })).toBe(true);
      expect(await store.getKey('k1')).toStrictEqual(key({ access: { routes: ['openai'] }, limits: { daily: 5 } }));
      expect((await store.getProject('acme'))?.access).toEqual(projectLists);

      // WHEN cleared, by null or by lists that are all empty: nothing is stored, so nothing is restricted
      expect(await store.updateKey('k1', { access: null })).toBe(true);
      expect(await store.updateProject('acme', { access: { routes: [], models: [] } })).toBe(true);
      expect(await store.getKey('k1')).toStrictEqual(key({ limits: { daily: 5 } }));
      expect(await store.getProject('acme')).toStrictEqual({ name: 'acme', createdAt: '2026-11-27T10:00:00.000Z', mode: 'soft' });

      // An empty list is never stored beside a non-empty one: it would read as "allow nothing" to a careless reader.
      await store.updateProject('acme', { access: { routes: [], models: ['gpt-*'] } });
      expect((await store.getProject('acme'))?.access).toStrictEqual({ models: ['gpt-*'] });
      expect(await store.updateProject('nope', { access: null })).toBe(false);
      expect(await store.updateKey('nope', { access: { routes: ['openai'] } })).toBe(false);
    });

    const account = (over: Partial<ProjectAccountRecord> = {}): ProjectAccountRecord => ({
      project: 'acme',
      name: 'openai-acme',
      kind: 'openai',
      credential: { kind: 'sealed', sealed: 'v1:0a1b2c3d:aXY:Y2lwaGVy' },
      hint: 'wxyz',
      createdAt: '2026-11-27T10:00:00.000Z',
      ...over,
    });

    it('keeps each project’s own provider accounts apart, by project then name', async () => {
      // GIVEN accounts of two projects, one with options, a base URL and a Secrets Manager credential
      const vertex = account({
        name: 'vertex-acme',
        kind: 'google-vertex',
        baseUrl: 'https://europe-west4-aiplatform.googleapis.com',
        options: { project: 'acme-ai', location: 'europe-west4' },
        credential: { kind: 'secret', secretId: 'tollgate/Tollgate-eu-west-1/byok/acme/vertex-acme-1a2b3c4d' },
      });
      expect(await store.addProjectAccount(vertex)).toBe(true);
      expect(await store.addProjectAccount(account())).toBe(true);
      expect(await store.addProjectAccount(account({ project: 'beta', name: 'openai-acme' }))).toBe(true);

      // THEN each project sees its own, and a listing of all is ordered by project, then name
      expect(await store.listProjectAccounts('acme')).toStrictEqual([account(), vertex]);
      expect(await store.listProjectAccounts('beta')).toStrictEqual([account({ project: 'beta', name: 'openai-acme' })]);
      expect(await store.listProjectAccounts('nobody')).toEqual([]);
      expect((await store.listProjectAccounts()).map((a) => `${a.project}/${a.name}`)).toEqual(['acme/openai-acme', 'acme/vertex-acme', 'beta/openai-acme']);
    });

    it('refuses a second account of the same name in a project, keeping the first', async () => {
      expect(await store.addProjectAccount(account())).toBe(true);

      expect(await store.addProjectAccount(account({ kind: 'groq', hint: 'abcd' }))).toBe(false);

      expect(await store.listProjectAccounts('acme')).toStrictEqual([account()]);
    });

    it('removes an account and hands back its record, once', async () => {
      await store.addProjectAccount(account());
      await store.addProjectAccount(account({ name: 'groq-acme', kind: 'groq' }));

      expect(await store.removeProjectAccount('acme', 'openai-acme')).toStrictEqual(account());
      expect(await store.removeProjectAccount('acme', 'openai-acme')).toBeUndefined();
      expect(await store.removeProjectAccount('nobody', 'openai-acme')).toBeUndefined();

      expect((await store.listProjectAccounts('acme')).map((a) => a.name)).toEqual(['groq-acme']);
      // Removed, it can be added again.
      expect(await store.addProjectAccount(account())).toBe(true);
    });

    it('records spend on a project’s own account beside the capped scopes', async () => {
      const scopes: Scope[] = [
        { kind: 'project', id: 'acme' },
        { kind: 'byok', id: 'acme/openai-acme' },
      ];
      await reserveAndSettle(store, { scopes }, 70);
      await reserveAndSettle(store, { scopes: [{ kind: 'project', id: 'acme' }] }, 30);

      const lifetime = (kind: 'byok' | 'project') => store.getSpend({ kind }).then((counters) => counters.filter((c) => c.period === 'lifetime'));
      expect(await lifetime('byok')).toEqual([{ scope: { kind: 'byok', id: 'acme/openai-acme' }, period: 'lifetime', nanos: 70, reservedNanos: 0, requests: 1 }]);
      expect(await lifetime('project')).toEqual([{ scope: { kind: 'project', id: 'acme' }, period: 'lifetime', nanos: 100, reservedNanos: 0, requests: 2 }]);
    });
  });
}
