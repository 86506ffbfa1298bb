import { DynamoDBClient, type DynamoDBClientConfig, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { silentLogger } from '../../lambda/core/log';
import { reconcileExpired } from '../../lambda/limits/reconciler';
import { openDynamoStore, SpendWriteError, type TollgateTableNames } from '../../lambda/store/dynamodb';
import { ratePk } from '../../lambda/store/dynamodb-day-counters';
import type { Claim, Reservation, ReserveOutcome, Scope, Store } from '../../lambda/store/port';
import { type LocalDynamo, startDynalite } from '../support/dynalite';

/**
 * Spend caps on DynamoDB when single AWS calls fail or lose their answer: dynalite is the engine,
 * and a client middleware fails the calls a test names, either as the store sees them once the
 * SDK is done or on the wire, below the SDK's own retries. Whatever fails, a granted claim is
 * handed back at most once and an ungranted one never, so `committed` never falls below what
 * requests really hold, and a cap still refuses exactly where it should.
 */

type Command = 'PutItemCommand' | 'DeleteItemCommand' | 'UpdateItemCommand';

interface Fault {
  readonly command: Command;
  /** Which call of that command: its input, as sent. */
  readonly matches: (input: Record<string, unknown>) => boolean;
  /**
   * `fails`: never reaches the table, and says so no more than a 500 does. `throttled`: refused,
   * saying so (a 400). `lost`: applied, then its answer is lost (the connection drops).
   * `answered500`: applied, then answered with a 500.
   */
  readonly kind: 'fails' | 'throttled' | 'lost' | 'answered500';
  /**
   * `store` (the default): above the SDK's retries, as the store sees a call once the SDK is done
   * with it. `wire`: one attempt, below them, as DynamoDB or the network fail it; the SDK then
   * sends again what it deems retryable (a 5xx, a throttle, a dropped connection).
   */
  readonly at?: 'store' | 'wire';
}

/** An error as the SDK raises a DynamoDB 500: whether the write happened, the caller cannot tell. */
function internalError(): Error {
  return Object.assign(new Error('We encountered an internal error. Please try again.'), { name: 'InternalServerError', $fault: 'server', $metadata: { httpStatusCode: 500 } });
}

/** An error as the SDK raises a DynamoDB throttle: the write was refused, not applied. */
function throttled(): Error {
  return Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), { name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

/**
 * A client on dynalite whose calls matching a fault fail, each fault once. It keeps the SDK's
 * default retries, which a fault `at: 'wire'` meets and one at the store does not.
 */
function faultyClient(endpoint: string, faults: Fault[], config: DynamoDBClientConfig = {}): DynamoDBClient {
  const client = new DynamoDBClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'tollgate-test', secretAccessKey: 'tollgate-test' }, ...config });
  const inject =
    (layer: 'store' | 'wire') =>
    <Args extends { input: object }, Result>(next: (args: Args) => Promise<Result>, context: { commandName?: string }) =>
    async (args: Args): Promise<Result> => {
      const input = args.input as Record<string, unknown>;
      const at = faults.findIndex((fault) => (fault.at ?? 'store') === layer && fault.command === context.commandName && fault.matches(input));
      if (at < 0) return next(args);
      const [fault] = faults.splice(at, 1);
      if (fault?.kind === 'fails') throw internalError();
      if (fault?.kind === 'throttled') throw throttled();
      await next(args);
      if (fault?.kind === 'answered500') throw internalError();
      throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ECONNRESET' });
    };
  client.middlewareStack.add(inject('store'), { step: 'initialize', name: 'injectedFaults' });
  // Below the retry middleware (finalizeRequest, high) and the signer: what each attempt sends and gets.
  client.middlewareStack.add(inject('wire'), { step: 'finalizeRequest', priority: 'low', name: 'injectedWireFaults' });
  return client;
}

const AT = new Date('2026-11-27T12:00:00Z');
const DAY = 'day:2026-11-27';
const EXPIRES = new Date('2026-11-27T12:20:00Z');
const ESTIMATE = 1_000;
const KEY: Scope = { kind: 'key', id: 'k1' };
const PROJECT: Scope = { kind: 'project', id: 'acme' };
const KEY_CAP = 3 * ESTIMATE;

const spend = (scope: Scope, limit: number): Claim => ({ scope, period: DAY, unit: 'nanos', amount: ESTIMATE, limit, rule: 'within' });
const inflight: Claim = { scope: KEY, period: 'inflight', unit: 'inflight', amount: 1, limit: 100, rule: 'within' };

function request(id: string, claims: Claim[]): Reservation {
  return { id, at: AT, scopes: [KEY, PROJECT], claims, estimateNanos: ESTIMATE, expiresAt: EXPIRES };
}

/** The key's daily cap, its in-flight slot and the project's cap, which `filler` has filled: the key is granted, the project refuses. */
const refusedByProject = (id: string) => request(id, [spend(KEY, KEY_CAP), inflight, spend(PROJECT, ESTIMATE)]);
const filler = () => ({ ...request('filler', [spend(PROJECT, ESTIMATE)]), scopes: [PROJECT] });

/** What the gateway does with a reserve that throws (gateway.ts `reserve`): hands it back, in case it was recorded. */
async function reserveAsGateway(store: Store, reservation: Reservation): Promise<ReserveOutcome | 'failed'> {
  try {
    return await store.reserve(reservation);
  } catch {
    await store.release(reservation).catch(() => false);
    return 'failed';
  }
}

const onRecord = (id: string) => (input: Record<string, unknown>) => (input['Key'] as { sk?: { S?: string } } | undefined)?.sk?.S?.endsWith(`#${id}`) === true;
const handsBackOn = (pk: string) => (input: Record<string, unknown>) => {
  const values = input['ExpressionAttributeValues'] as Record<string, { N?: string }> | undefined;
  return (input['Key'] as { pk?: { S?: string } }).pk?.S === pk && Number(values?.[':committed']?.N) < 0;
};
const claimOn = (pk: string) => (input: Record<string, unknown>) => (input['Key'] as { pk?: { S?: string } }).pk?.S === pk && input['ConditionExpression'] !== undefined;

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.close();
});

describe('dynamodb spend under failed and lost calls', () => {
  let faults: Fault[];
  let faulty: DynamoDBClient;
  let store: Store;
  /** The same tables through a client nothing fails on: to read, and to send the requests after. */
  let clean: Store;
  let tables: TollgateTableNames;

  beforeEach(async () => {
    tables = await dynamo.createTables();
    faults = [];
    faulty = faultyClient(dynamo.endpoint, faults);
    store = openDynamoStore({ client: faulty, ...tables });
    clean = openDynamoStore({ client: dynamo.client, ...tables });
  });
  afterEach(() => {
    faulty.destroy();
  });

  async function today(scope: Scope) {
    const day = (await clean.getSpend({ kind: scope.kind, id: scope.id })).find((c) => c.period === DAY);
    return { nanos: day?.nanos ?? 0, reservedNanos: day?.reservedNanos ?? 0, requests: day?.requests ?? 0 };
  }

  async function inflightCount(): Promise<number> {
    const item = (await dynamo.client.send(new GetItemCommand({ TableName: tables.spendTable, Key: { pk: { S: ratePk(KEY) }, sk: { S: 'inflight' } }, ConsistentRead: true }))).Item;
    return Number(item?.['committed']?.N ?? 0);
  }

  /** How many requests on the key alone its cap admits from here before refusing one. */
  async function admittedByKeyCap(): Promise<number> {
    for (let admitted = 0; ; admitted++) {
      const outcome = await clean.reserve({ ...request(`after-${admitted}`, [spend(KEY, KEY_CAP)]), scopes: [KEY] });
      if (!outcome.ok) return admitted;
      if (admitted > 10) throw new Error('the key cap admits without end');
    }
  }

  it('hands back a refused reserve’s claims once when its record cannot be deleted', async () => {
    // GIVEN a project cap already full, and the reservation record's delete failing
    expect((await clean.reserve(filler())).ok).toBe(true);
    faults.push({ command: 'DeleteItemCommand', matches: onRecord('r1'), kind: 'fails' });

    // WHEN a request the project refuses is reserved, and handed back as the gateway does
    expect(await reserveAsGateway(store, refusedByProject('r1'))).toBe('failed');

    // THEN the key holds nothing, the project still holds the filler's estimate, and no slot is taken
    expect(faults).toEqual([]);
    expect(await today(KEY)).toEqual({ nanos: 0, reservedNanos: 0, requests: 0 });
    expect(await today(PROJECT)).toEqual({ nanos: 0, reservedNanos: ESTIMATE, requests: 0 });
    expect(await inflightCount()).toBe(0);
    // AND the key's cap refuses exactly where it should
    expect(await admittedByKeyCap()).toBe(3);
  });

  it('hands back only the granted claims when a claim fails and the record cannot be deleted', async () => {
    // GIVEN the project's claim failing with an AWS error, and the record's delete failing too
    faults.push({ command: 'UpdateItemCommand', matches: claimOn('project#acme'), kind: 'fails' });
    faults.push({ command: 'DeleteItemCommand', matches: onRecord('r1'), kind: 'fails' });

    // WHEN
    expect(await reserveAsGateway(store, refusedByProject('r1'))).toBe('failed');

    // THEN the key's granted claims came back once, and the project's, never granted, were not handed back
    expect(faults).toEqual([]);
    expect(await today(KEY)).toEqual({ nanos: 0, reservedNanos: 0, requests: 0 });
    expect(await today(PROJECT)).toEqual({ nanos: 0, reservedNanos: 0, requests: 0 });
    expect(await inflightCount()).toBe(0);
    expect(await admittedByKeyCap()).toBe(3);
  });

  it('does not send again a hand-back whose answer was lost', async () => {
    // GIVEN a project cap already full, and the key's hand-back applied with its answer lost
    expect((await clean.reserve(filler())).ok).toBe(true);
    faults.push({ command: 'UpdateItemCommand', matches: handsBackOn('key#k1'), kind: 'lost' });

    // WHEN a request the project refuses is reserved
    await reserveAsGateway(store, refusedByProject('r1'));

    // THEN the key's hold came back once
    expect(faults).toEqual([]);
    expect(await today(KEY)).toEqual({ nanos: 0, reservedNanos: 0, requests: 0 });
    expect(await today(PROJECT)).toEqual({ nanos: 0, reservedNanos: ESTIMATE, requests: 0 });
    expect(await admittedByKeyCap()).toBe(3);
  });

  it('hands back nothing twice when the record’s write was applied but its answer lost', async () => {
    // GIVEN a project cap already full, and the reservation record written with its answer lost
    expect((await clean.reserve(filler())).ok).toBe(true);
    faults.push({ command: 'PutItemCommand', matches: (input) => (input['Item'] as { sk?: { S?: string } }).sk?.S?.endsWith('#r1') === true, kind: 'lost' });

    // WHEN
    expect(await reserveAsGateway(store, refusedByProject('r1'))).toBe('failed');

    // THEN the record is gone and each granted claim came back once
    expect(faults).toEqual([]);
    expect(await clean.expiredReservations(new Date(EXPIRES.getTime() + 1000))).toEqual([filler()]);
    expect(await today(KEY)).toEqual({ nanos: 0, reservedNanos: 0, requests: 0 });
    expect(await today(PROJECT)).toEqual({ nanos: 0, reservedNanos: ESTIMATE, requests: 0 });
    expect(await inflightCount()).toBe(0);
    expect(await admittedByKeyCap()).toBe(3);
  });

  it('lets the reconciler hand back what a reserve that did not go through still holds, and charge nothing', async () => {
    // GIVEN a reserve whose record could not be deleted, and no release after it (the process died)
    faults.push({ command: 'UpdateItemCommand', matches: claimOn('project#acme'), kind: 'fails' });
    faults.push({ command: 'DeleteItemCommand', matches: onRecord('r1'), kind: 'fails' });
    await expect(store.reserve(refusedByProject('r1'))).rejects.toThrow();

    // WHEN the reconciler finds it expired
    expect(await reconcileExpired(clean, new Date(EXPIRES.getTime() + 1000), silentLogger)).toBe(1);

    // THEN it held the key's claims until then, and handed back those only; no request or spend was recorded
    expect(await today(KEY)).toEqual({ nanos: 0, reservedNanos: 0, requests: 0 });
    expect(await today(PROJECT)).toEqual({ nanos: 0, reservedNanos: 0, requests: 0 });
    expect(await inflightCount()).toBe(0);
    expect(await admittedByKeyCap()).toBe(3);
  });

  it('does not send again a settlement write whose answer was lost, even when the settlement is retried', async () => {
    // GIVEN a granted request, and its settlement's write to the key's counter applied with its answer lost
    const r = { ...request('r1', [spend(KEY, KEY_CAP)]), scopes: [KEY] };
    expect((await store.reserve(r)).ok).toBe(true);
    faults.push({ command: 'UpdateItemCommand', matches: handsBackOn('key#k1'), kind: 'lost' });
    const actual = ESTIMATE / 4;

    // WHEN it is settled, fails, and is settled again (as the meter retries)
    await expect(store.settle(r, actual)).rejects.toThrow();
    // THEN the retry fails too: the write may not have happened, so the request ends as spend_write_failed
    await expect(store.settle(r, actual)).rejects.toThrow(SpendWriteError);

    // THEN its spend is counted once, its hold handed back once
    expect(faults).toEqual([]);
    expect(await today(KEY)).toEqual({ nanos: actual, reservedNanos: 0, requests: 1 });
    // AND what is left of the cap admits two more estimates, not three
    expect(await admittedByKeyCap()).toBe(2);
  });

  it('writes, when the settlement is retried, a counter write refused on every attempt before', async () => {
    // GIVEN a granted request, whose settlement's write to the key's counter is throttled on each of its attempts
    const r = { ...request('r1', [spend(KEY, KEY_CAP)]), scopes: [KEY] };
    expect((await store.reserve(r)).ok).toBe(true);
    for (let i = 0; i < 3; i++) faults.push({ command: 'UpdateItemCommand', matches: handsBackOn('key#k1'), kind: 'throttled' });
    const actual = ESTIMATE / 4;

    // WHEN it is settled, fails, and is settled again (as the meter retries)
    await expect(store.settle(r, actual)).rejects.toThrow(SpendWriteError);
    expect(faults).toEqual([]);
    expect(await today(KEY)).toEqual({ nanos: 0, reservedNanos: ESTIMATE, requests: 0 });
    expect(await store.settle(r, actual)).toBe(true);

    // THEN its spend is counted once, its hold handed back once, and a third settlement finds nothing to do
    expect(await today(KEY)).toEqual({ nanos: actual, reservedNanos: 0, requests: 1 });
    expect(await store.settle(r, actual)).toBe(false);
    expect(await admittedByKeyCap()).toBe(2);
  });

  it.each([
    ['released', null],
    ['settled', ESTIMATE / 4],
  ] as const)('names on its record, for the reconciler, a hand-back refused on every attempt after the record was taken (%s)', async (_, actual) => {
    // GIVEN a granted request, whose key hand-back (carrying its spend, when settled) is throttled on each of the store's attempts
    const r = { ...request('r1', [spend(KEY, KEY_CAP), inflight]), scopes: [KEY] };
    expect((await store.reserve(r)).ok).toBe(true);
    for (let i = 0; i < 3; i++) faults.push({ command: 'UpdateItemCommand', matches: handsBackOn('key#k1'), kind: 'throttled' });

    // WHEN it is finished once, with no retry (as the gateway releases), and fails
    await expect(actual === null ? store.release(r) : store.settle(r, actual)).rejects.toThrow(SpendWriteError);
    expect(faults).toEqual([]);
    expect(await today(KEY)).toEqual({ nanos: 0, reservedNanos: ESTIMATE, requests: 0 });

    // THEN the reconciler, in another process, finds the record and sends the write left, and nothing else
    expect(await reconcileExpired(clean, new Date(EXPIRES.getTime() + 1000), silentLogger)).toBe(1);
    expect(await today(KEY)).toEqual(actual === null ? { nanos: 0, reservedNanos: 0, requests: 0 } : { nanos: actual, reservedNanos: 0, requests: 1 });
    expect(await inflightCount()).toBe(0);
    expect(await clean.expiredReservations(new Date(EXPIRES.getTime() + 1000))).toEqual([]);
    // AND a retry of the finished settlement finds nothing left to do
    await expect(actual === null ? store.release(r) : store.settle(r, actual)).resolves.toBe(true);
    expect(await today(KEY)).toEqual(actual === null ? { nanos: 0, reservedNanos: 0, requests: 0 } : { nanos: actual, reservedNanos: 0, requests: 1 });
  });

  describe('on the wire, below the SDK’s own retries', () => {
    const keyOnly = (id: string) => ({ ...request(id, [spend(KEY, KEY_CAP), inflight]), scopes: [KEY] });

    it.each(['answered500', 'lost'] as const)('hands back a settlement’s hold once when its write is applied and then %s', async (kind) => {
      // GIVEN a granted request, and its settlement's write to the key's counter applied, then failed as the SDK would retry
      const r = keyOnly('r1');
      expect((await store.reserve(r)).ok).toBe(true);
      faults.push({ command: 'UpdateItemCommand', matches: handsBackOn('key#k1'), kind, at: 'wire' });
      const actual = ESTIMATE / 4;

      // WHEN it is settled
      const settled = await store.settle(r, actual).catch((error: unknown) => error);

      // THEN its spend is counted once and its hold handed back once (not sent again by the SDK): the cap admits two more estimates, not three
      expect(faults).toEqual([]);
      expect({ counter: await today(KEY), admitted: await admittedByKeyCap() }).toEqual({ counter: { nanos: actual, reservedNanos: 0, requests: 1 }, admitted: 2 });
      // AND the settlement fails, since the write may not have happened: the request ends as spend_write_failed
      expect(settled).toBeInstanceOf(SpendWriteError);
      await expect(store.settle(r, actual)).rejects.toThrow(SpendWriteError);
      // AND the in-flight slot, whose write was answered, is free
      expect(await inflightCount()).toBe(0);
    });

    it('hands back a settlement’s hold once on a client that caches its middleware per command', async () => {
      // GIVEN a client that reuses one handler per command class, on which the hold went through with the SDK's retries
      const caching = faultyClient(dynamo.endpoint, faults, { cacheMiddleware: true });
      const cached = openDynamoStore({ client: caching, ...tables });
      const r = keyOnly('r1');
      expect((await cached.reserve(r)).ok).toBe(true);
      faults.push({ command: 'UpdateItemCommand', matches: handsBackOn('key#k1'), kind: 'answered500', at: 'wire' });

      // WHEN it is settled
      const settled = await cached.settle(r, ESTIMATE / 4).catch((error: unknown) => error);
      caching.destroy();

      // THEN the write was sent once
      expect(faults).toEqual([]);
      expect({ counter: await today(KEY), admitted: await admittedByKeyCap() }).toEqual({ counter: { nanos: ESTIMATE / 4, reservedNanos: 0, requests: 1 }, admitted: 2 });
      expect(settled).toBeInstanceOf(SpendWriteError);
    });

    it('sends a settlement’s record delete again when it failed before being applied', async () => {
      // GIVEN a granted request, whose record delete fails with a 500 without reaching the table
      const r = keyOnly('r1');
      expect((await store.reserve(r)).ok).toBe(true);
      faults.push({ command: 'DeleteItemCommand', matches: onRecord('r1'), kind: 'fails', at: 'wire' });
      const actual = ESTIMATE / 4;

      // WHEN it is settled
      expect(await store.settle(r, actual)).toBe(true);

      // THEN the record, still there, was deleted on a second try, and the request settled once
      expect(faults).toEqual([]);
      expect({ counter: await today(KEY), inflight: await inflightCount(), admitted: await admittedByKeyCap() }).toEqual({
        counter: { nanos: actual, reservedNanos: 0, requests: 1 },
        inflight: 0,
        admitted: 2,
      });
      expect(await store.settle(r, actual)).toBe(false);
    });

    it('hands back only what a record names when the reconciler’s delete of it is applied and then answered with a 500', async () => {
      // GIVEN a project cap already full, and a request it refuses whose key hand-back is refused on every try: its record names the key's claim
      expect((await clean.reserve(filler())).ok).toBe(true);
      for (let i = 0; i < 3; i++) faults.push({ command: 'UpdateItemCommand', matches: handsBackOn('key#k1'), kind: 'throttled' });
      await expect(store.reserve(refusedByProject('r1'))).rejects.toThrow(SpendWriteError);
      expect(faults).toEqual([]);

      // WHEN the reconciler finds it expired, and its delete of the record is applied and answered with a 500
      faults.push({ command: 'DeleteItemCommand', matches: onRecord('r1'), kind: 'answered500', at: 'wire' });
      const reconciler = openDynamoStore({ client: faulty, ...tables });
      // (the filler too, which is reconciled at its estimate)
      expect(await reconcileExpired(reconciler, new Date(EXPIRES.getTime() + 1000), silentLogger)).toBe(2);

      // THEN the key's hold came back, and nothing the record did not name: the project's counter has the filler alone, the slot is not handed back twice
      expect(faults).toEqual([]);
      expect({ key: await today(KEY), project: await today(PROJECT), inflight: await inflightCount() }).toEqual({
        key: { nanos: 0, reservedNanos: 0, requests: 0 },
        project: { nanos: ESTIMATE, reservedNanos: 0, requests: 1 },
        inflight: 0,
      });
    });

    it('waits out a release’s throttled hand-back', async () => {
      // GIVEN a granted request, whose release's key hand-back DynamoDB throttles six times in a row
      const r = keyOnly('r1');
      expect((await store.reserve(r)).ok).toBe(true);
      for (let i = 0; i < 6; i++) faults.push({ command: 'UpdateItemCommand', matches: handsBackOn('key#k1'), kind: 'throttled', at: 'wire' });

      // WHEN it is released once
      expect(await store.release(r)).toBe(true);

      // THEN the hold came back once
      expect(faults).toEqual([]);
      expect({ counter: await today(KEY), inflight: await inflightCount(), admitted: await admittedByKeyCap() }).toEqual({ counter: { nanos: 0, reservedNanos: 0, requests: 0 }, inflight: 0, admitted: 3 });
    });

    it('stops waiting out throttles after a few seconds, and leaves the hand-back on the record for the reconciler', async () => {
      // GIVEN a granted request, whose release's key hand-back DynamoDB throttles without end
      const r = keyOnly('r1');
      expect((await store.reserve(r)).ok).toBe(true);
      for (let i = 0; i < 1000; i++) faults.push({ command: 'UpdateItemCommand', matches: handsBackOn('key#k1'), kind: 'throttled', at: 'wire' });

      // WHEN it is released once
      const started = Date.now();
      await expect(store.release(r)).rejects.toThrow(SpendWriteError);

      // THEN it gave up within its budget of 5 s (bounded loosely: the machine may be busy), the slot came back, the hold did not yet
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(faults.length).toBeGreaterThan(900);
      faults.length = 0;
      expect({ counter: await today(KEY), inflight: await inflightCount() }).toEqual({ counter: { nanos: 0, reservedNanos: ESTIMATE, requests: 0 }, inflight: 0 });
      // AND the reconciler, once it expired, hands the hold back, once
      expect(await reconcileExpired(clean, new Date(EXPIRES.getTime() + 1000), silentLogger)).toBe(1);
      expect({ counter: await today(KEY), inflight: await inflightCount(), admitted: await admittedByKeyCap() }).toEqual({ counter: { nanos: 0, reservedNanos: 0, requests: 0 }, inflight: 0, admitted: 3 });
    });

    it('hands back a released hold once when its write is applied and then answered with a 500', async () => {
      // GIVEN a granted request, and its release's write to the key's counter applied, then answered with a 500
      const r = keyOnly('r1');
      expect((await store.reserve(r)).ok).toBe(true);
      faults.push({ command: 'UpdateItemCommand', matches: handsBackOn('key#k1'), kind: 'answered500', at: 'wire' });

      // WHEN it is released
      const released = await store.release(r).catch((error: unknown) => error);

      // THEN the hold came back once, and the cap admits three estimates, not four
      expect(faults).toEqual([]);
      expect({ counter: await today(KEY), admitted: await admittedByKeyCap() }).toEqual({ counter: { nanos: 0, reservedNanos: 0, requests: 0 }, admitted: 3 });
      expect(released).toBeInstanceOf(SpendWriteError);
    });

    it('hands back a refused reserve’s claims once when the hand-back is applied and then answered with a 500', async () => {
      // GIVEN a project cap already full, and the key's hand-back applied, then answered with a 500
      expect((await clean.reserve(filler())).ok).toBe(true);
      faults.push({ command: 'UpdateItemCommand', matches: handsBackOn('key#k1'), kind: 'answered500', at: 'wire' });

      // WHEN a request the project refuses is reserved, and handed back as the gateway does
      await reserveAsGateway(store, refusedByProject('r1'));

      // THEN the key's hold came back once, and its cap admits three estimates, not four
      expect(faults).toEqual([]);
      expect(await today(PROJECT)).toEqual({ nanos: 0, reservedNanos: ESTIMATE, requests: 0 });
      expect(await inflightCount()).toBe(0);
      expect({ counter: await today(KEY), admitted: await admittedByKeyCap() }).toEqual({ counter: { nanos: 0, reservedNanos: 0, requests: 0 }, admitted: 3 });
    });

    it('hands back a refused reserve’s claims when its record’s delete is applied and then answered with a 500', async () => {
      // GIVEN a project cap already full, and the refused reserve's delete of its record applied, then answered with a 500
      expect((await clean.reserve(filler())).ok).toBe(true);
      faults.push({ command: 'DeleteItemCommand', matches: onRecord('r1'), kind: 'answered500', at: 'wire' });

      // WHEN a request the project refuses is reserved, and handed back as the gateway does
      await reserveAsGateway(store, refusedByProject('r1'));

      // THEN the key's claims came back (a resent delete, refused as the record is gone, reads as the
      // reconciler's, and nothing would be handed back: the key held until the day ends)
      expect(faults).toEqual([]);
      expect(await today(PROJECT)).toEqual({ nanos: 0, reservedNanos: ESTIMATE, requests: 0 });
      expect({ counter: await today(KEY), inflight: await inflightCount(), admitted: await admittedByKeyCap() }).toEqual({
        counter: { nanos: 0, reservedNanos: 0, requests: 0 },
        inflight: 0,
        admitted: 3,
      });
    });

    it('still lets the SDK retry a throttled hold', async () => {
      // GIVEN the key's hold throttled once
      faults.push({ command: 'UpdateItemCommand', matches: claimOn('key#k1'), kind: 'throttled', at: 'wire' });

      // WHEN a request is reserved
      const outcome = await store.reserve(keyOnly('r1'));

      // THEN the SDK sent the hold again, and it was granted: once
      expect(faults).toEqual([]);
      expect(outcome.ok).toBe(true);
      expect(await today(KEY)).toEqual({ nanos: 0, reservedNanos: ESTIMATE, requests: 0 });
      expect(await inflightCount()).toBe(1);
    });

    it('still writes a throttled hand-back, sent again by the store', async () => {
      // GIVEN a granted request, and its settlement's write to the key's counter throttled once
      const r = keyOnly('r1');
      expect((await store.reserve(r)).ok).toBe(true);
      faults.push({ command: 'UpdateItemCommand', matches: handsBackOn('key#k1'), kind: 'throttled', at: 'wire' });
      const actual = ESTIMATE / 4;

      // WHEN it is settled
      expect(await store.settle(r, actual)).toBe(true);

      // THEN it was written, once
      expect(faults).toEqual([]);
      expect(await today(KEY)).toEqual({ nanos: actual, reservedNanos: 0, requests: 1 });
      expect(await admittedByKeyCap()).toBe(2);
    });
  });

  // A hold handed back zero times is as wrong as one handed back twice: it stays for good. A
  // throttle is surely not applied, so it is waited out; the record is already deleted by then.
  it('a release throttled three times on the wire still hands back its hold', async () => {
    const r = { ...request('r1', [spend(KEY, KEY_CAP), inflight]), scopes: [KEY] };
    expect((await store.reserve(r)).ok).toBe(true);
    for (let i = 0; i < 3; i++) faults.push({ command: 'UpdateItemCommand', matches: handsBackOn('key#k1'), kind: 'throttled', at: 'wire' });

    // WHEN it is released once, as gateway.ts handBack and reserve's catch do (no retry)
    await store.release(r).catch(() => false);

    // THEN the hold came back, or at least the reconciler can still find the record
    const recordLeft = (await clean.expiredReservations(new Date(EXPIRES.getTime() + 1000))).length;
    expect({ counter: await today(KEY), recordLeft }).toEqual({ counter: { nanos: 0, reservedNanos: 0, requests: 0 }, recordLeft: 0 });
  });

  it('a settlement that the reconciler makes, throttled three times, does not leak the hold', async () => {
    const r = { ...request('r1', [spend(KEY, KEY_CAP), inflight]), scopes: [KEY] };
    expect((await store.reserve(r)).ok).toBe(true);
    // in-flight slot hand-back (committed -1) throttled three times
    for (let i = 0; i < 3; i++) faults.push({ command: 'UpdateItemCommand', matches: handsBackOn(ratePk(KEY)), kind: 'throttled', at: 'wire' });
    await reconcileExpired(store, new Date(EXPIRES.getTime() + 1000), silentLogger).catch(() => 0);
    const recordLeft = (await clean.expiredReservations(new Date(EXPIRES.getTime() + 1000))).length;
    expect({ inflight: await inflightCount(), recordLeft }).toEqual({ inflight: 0, recordLeft: 0 });
  });

  // Two failures in a row: the refused reserve's hand-back is throttled, and the record naming what
  // it still holds cannot be written. The gateway's release then finds no record, and must still hand back.
  it('a refused reserve whose hand-back is throttled and whose held record cannot be written still hands back', async () => {
    expect((await clean.reserve(filler())).ok).toBe(true);
    for (let i = 0; i < 3; i++) faults.push({ command: 'UpdateItemCommand', matches: handsBackOn('key#k1'), kind: 'throttled', at: 'wire' });
    faults.push({ command: 'PutItemCommand', matches: (input) => (input['Item'] as Record<string, unknown>)['held'] !== undefined, kind: 'fails' });

    expect(await reserveAsGateway(store, refusedByProject('r1'))).toBe('failed');

    expect(faults).toEqual([]);
    const recordLeft = (await clean.expiredReservations(new Date(EXPIRES.getTime() + 1000))).filter((x) => x.id === 'r1').length;
    expect({ counter: await today(KEY), recordLeft }).toEqual({ counter: { nanos: 0, reservedNanos: 0, requests: 0 }, recordLeft: 0 });
  });
  // A delete the SDK resent after it had applied is refused, and would read as the reconciler's.
  it('a settlement whose record delete is applied and then answered with a 500 still settles', async () => {
    // Not expired: only an expired record can be the reconciler's.
    const r = { ...request('r1', [spend(KEY, KEY_CAP), inflight]), scopes: [KEY], expiresAt: new Date(Date.now() + 20 * 60_000) };
    expect((await store.reserve(r)).ok).toBe(true);
    faults.push({ command: 'DeleteItemCommand', matches: onRecord('r1'), kind: 'answered500', at: 'wire' });
    const actual = ESTIMATE / 4;

    const settled = await store.settle(r, actual).catch((error: unknown) => error);

    expect(faults).toEqual([]);
    const recordLeft = (await clean.expiredReservations(new Date(r.expiresAt.getTime() + 1000))).length;
    expect({ settled, counter: await today(KEY), inflight: await inflightCount(), recordLeft }).toEqual({
      settled: true,
      counter: { nanos: actual, reservedNanos: 0, requests: 1 },
      inflight: 0,
      recordLeft: 0,
    });
  });

  it('an expired reservation whose record delete is applied and then answered with a 500 is taken as the reconciler\'s: its hold stays, never handed back twice', async () => {
    // GIVEN a reservation past its expiry, which the reconciler may take at any moment
    const r = { ...request('r1', [spend(KEY, KEY_CAP), inflight]), scopes: [KEY] };
    expect((await store.reserve(r)).ok).toBe(true);
    faults.push({ command: 'DeleteItemCommand', matches: onRecord('r1'), kind: 'answered500', at: 'wire' });

    // WHEN its settlement's delete is applied and its answer lost
    const settled = await store.settle(r, ESTIMATE / 4).catch((error: unknown) => error);

    // THEN the record is gone and not known to be ours: nothing handed back (a cap too strict, never one that leaks)
    expect(faults).toEqual([]);
    expect({ settled, counter: await today(KEY), inflight: await inflightCount() }).toEqual({
      settled: false,
      counter: { nanos: 0, reservedNanos: ESTIMATE, requests: 0 },
      inflight: 1,
    });
  });
  // The gateway's own release finishes the held record at once: its hand-back may be throttled again.
  it('a refused reserve whose hand-back is throttled six times still hands back', async () => {
    expect((await clean.reserve(filler())).ok).toBe(true);
    for (let i = 0; i < 6; i++) faults.push({ command: 'UpdateItemCommand', matches: handsBackOn('key#k1'), kind: 'throttled', at: 'wire' });

    await reserveAsGateway(store, refusedByProject('r1'));

    expect(faults).toEqual([]);
    const recordLeft = (await clean.expiredReservations(new Date(EXPIRES.getTime() + 1000))).filter((x) => x.id === 'r1').length;
    expect({ counter: await today(KEY), recordLeft }).toEqual({ counter: { nanos: 0, reservedNanos: 0, requests: 0 }, recordLeft: 0 });
  });
});
