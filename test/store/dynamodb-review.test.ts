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

  // REVIEW: a hand-back that DynamoDB throttled (a 400: surely not applied) three times in a row.
  // Before s8, the SDK retried each send (3 attempts, with throttle backoff) and the store 3 times;
  // now updateOnce turns the SDK's retries off, so 3 throttles within ~120 ms exhaust it. The
  // record is already deleted by then, so neither a retry nor the reconciler can find it: leaked.
  it('REVIEW: a release throttled three times on the wire still hands back its hold', async () => {
    const r = { ...request('r1', [spend(KEY, KEY_CAP), inflight]), scopes: [KEY] };
    expect((await store.reserve(r)).ok).toBe(true);
    for (let i = 0; i < 3; i++) faults.push({ command: 'UpdateItemCommand', matches: handsBackOn('key#k1'), kind: 'throttled', at: 'wire' });

    // WHEN it is released once, as gateway.ts handBack and reserve's catch do (no retry)
    await store.release(r).catch(() => false);

    // THEN the hold came back, or at least the reconciler can still find the record
    const recordLeft = (await clean.expiredReservations(new Date(EXPIRES.getTime() + 1000))).length;
    expect({ counter: await today(KEY), recordLeft }).toEqual({ counter: { nanos: 0, reservedNanos: 0, requests: 0 }, recordLeft: 0 });
  });

  it('REVIEW: a settlement that the reconciler makes, throttled three times, does not leak the hold', async () => {
    const r = { ...request('r1', [spend(KEY, KEY_CAP), inflight]), scopes: [KEY] };
    expect((await store.reserve(r)).ok).toBe(true);
    // in-flight slot hand-back (committed -1) throttled three times
    for (let i = 0; i < 3; i++) faults.push({ command: 'UpdateItemCommand', matches: handsBackOn(ratePk(KEY)), kind: 'throttled', at: 'wire' });
    await reconcileExpired(store, new Date(EXPIRES.getTime() + 1000), silentLogger).catch(() => 0);
    const recordLeft = (await clean.expiredReservations(new Date(EXPIRES.getTime() + 1000))).length;
    expect({ inflight: await inflightCount(), recordLeft }).toEqual({ inflight: 0, recordLeft: 0 });
  });

  // REVIEW: refused reserve; its record deleted; the key's hand-back throttled on each of the
  // store's 3 attempts; then recordHeld's PutItem fails. The gateway's release finds no record
  // (mine = false) and returns; `abandoned` is only read after a successful delete. Zero hand-backs.
  it('REVIEW: a refused reserve whose hand-back is throttled and whose held record cannot be written still hands back', async () => {
    expect((await clean.reserve(filler())).ok).toBe(true);
    for (let i = 0; i < 3; i++) faults.push({ command: 'UpdateItemCommand', matches: handsBackOn('key#k1'), kind: 'throttled', at: 'wire' });
    faults.push({ command: 'PutItemCommand', matches: (input) => (input['Item'] as Record<string, unknown>)['held'] !== undefined, kind: 'fails' });

    expect(await reserveAsGateway(store, refusedByProject('r1'))).toBe('failed');

    expect(faults).toEqual([]);
    const recordLeft = (await clean.expiredReservations(new Date(EXPIRES.getTime() + 1000))).filter((x) => x.id === 'r1').length;
    expect({ counter: await today(KEY), recordLeft }).toEqual({ counter: { nanos: 0, reservedNanos: 0, requests: 0 }, recordLeft: 0 });
  });
  // REVIEW: abandon() sends its record delete once because 'a delete that was applied is refused
  // [on the SDK's resend], and reads as the reconciler's, which would leave every claim held'. The
  // settlement's own delete in finish() (every request's path) still goes with the SDK's retries.
  it('REVIEW: a settlement whose record delete is applied and then answered with a 500 still settles', async () => {
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
  // REVIEW: the HELD record exists so that 'whoever then finishes it hands back what it names'; but
  // the gateway's own release (reserve's catch) finishes it at once, deletes it, and if the hand-back
  // is throttled again the record is gone and the claim is held for good.
  it('REVIEW: a refused reserve whose hand-back is throttled six times still hands back (old code: 9 tries with backoff)', async () => {
    expect((await clean.reserve(filler())).ok).toBe(true);
    for (let i = 0; i < 6; i++) faults.push({ command: 'UpdateItemCommand', matches: handsBackOn('key#k1'), kind: 'throttled', at: 'wire' });

    await reserveAsGateway(store, refusedByProject('r1'));

    expect(faults).toEqual([]);
    const recordLeft = (await clean.expiredReservations(new Date(EXPIRES.getTime() + 1000))).filter((x) => x.id === 'r1').length;
    expect({ counter: await today(KEY), recordLeft }).toEqual({ counter: { nanos: 0, reservedNanos: 0, requests: 0 }, recordLeft: 0 });
  });
});
