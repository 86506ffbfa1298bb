import { ConditionalCheckFailedException, type DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { parseReservation, serializeReservation, settlementDeltas, type CounterKey } from './counters';
import { DAY_SHARDS, dayLabel, dayPk, dayTotals, parseDayPk, type Prior, PriorSums, ratePk, shardFor, type DayTotals } from './dynamodb-day-counters';
import { compareText, conditionally, type Item, queryAll, safeInteger, scanAll } from './dynamodb-items';
import { deleteOnce, THROTTLE_BUDGET_MS, type ThrottlesUntil, updateOnce } from './dynamodb-single-try';
import { periodLabels } from './periods';
import { assertNanos, standingOf, type Claim, type Reservation, type ReserveOutcome, type Scope, type ScopeKind, type SpendCounter, type SpendQuery } from './port';

/**
 * Spend counters and reservations on DynamoDB: a day counter per scope (see
 * `dynamodb-day-counters.ts` for the layout, and why week, month and lifetime are sums of days),
 * moved with `ADD` so concurrent gateways never lose an increment.
 *
 * DynamoDB conditions cannot add two attributes, so each counter keeps `committed` (settled
 * spend plus what in-flight requests hold) beside `nanos` (settled spend): a strict cap is the
 * single comparison `committed <= cap − estimate`.
 *
 * TransactWriteItems would make a reservation one all-or-nothing call, but dynalite (the only
 * engine our tests can run) lacks it; so claims are conditional updates sent in parallel, and
 * when any is refused the ones that succeeded are rolled back. Between the two, a concurrent
 * request may see a claim that is about to be undone and be refused too: caps err towards
 * refusing, never towards overshooting.
 *
 * Whoever deletes a reservation record hands back what it holds, so a claim is handed back at
 * most once. A reserve that did not go through deletes its record before undoing its granted
 * claims; when that delete fails, it writes the record again naming only the claims still held
 * ({@link HELD}), and whoever then finishes it (the gateway's release, or the reconciler) hands
 * back those and nothing else:
 *
 * ```
 *  put record ∥ claims ──all granted──▶ ok
 *        │ a refusal or an error
 *        ▼
 *  delete record ──mine, or never written──▶ undo granted claims ──some surely not undone──▶ record naming them
 *        │ failed: deleted or not, unknown
 *        └──▶ record naming the granted claims; nothing undone here
 * ```
 *
 * A settlement (or release) likewise deletes its record first; writes DynamoDB still refuses after
 * that are named on it again ({@link LEFT}) for the meter's retry or the reconciler, and a delete
 * whose answer was lost is checked with a consistent read rather than sent again (see `takeRecord`).
 */
export interface DynamoSpend {
  reserve(reservation: Reservation): Promise<ReserveOutcome>;
  settle(reservation: Reservation, actualNanos: number): Promise<boolean>;
  release(reservation: Reservation): Promise<boolean>;
  expiredReservations(now: Date, limit?: number): Promise<Reservation[]>;
  getSpend(query?: SpendQuery): Promise<SpendCounter[]>;
}

/** Reservations are spread over a few partitions so that every request does not write one hot key. */
const RESERVATION_SHARDS = 8;
const WRITE_ATTEMPTS = 3;
/** Rate counters are gone (DynamoDB TTL, attribute `expiresAt`) once they cannot refuse anything. */
const RATE_COUNTER_TTL_SECONDS = 180;

// A Record rather than an array so adding a ScopeKind without listing it here fails to compile.
const SCOPE_KINDS: Readonly<Record<ScopeKind, true>> = { key: true, user: true, project: true, byok: true };

/**
 * Reservation records written with the day-counter layout say so; records from before it (still
 * in a table during an upgrade) are settled the way they were claimed, on per-period counters.
 */
const LAYOUT = 'day';

/**
 * On the record of a reserve that did not go through: the indexes (JSON, into its claims) of the
 * claims it still holds. Finishing such a record hands back those claims and records nothing, as
 * no request was forwarded; an ungranted claim, or one already undone, is never handed back.
 */
const HELD = 'held';

/**
 * On the record of a settlement whose counter writes DynamoDB refused after it had taken its
 * record: those writes (JSON), which whoever finishes the record sends, and nothing else.
 */
const LEFT = 'left';

/** One counter change: an item, and what to ADD to it. */
interface CounterWrite extends CounterKey {
  readonly pk: string;
  nanos: number;
  committed: number;
  requests: number;
  /** For a write undoing a reserve: the indexes of the claims it hands back. */
  readonly claims?: readonly number[];
}

type FailedWrite = CounterKey & { readonly error: unknown };

/** Writes that failed: those an error proved were not applied, those that may have been, and every failure with its error. */
interface WritesLeft {
  readonly unapplied: readonly CounterWrite[];
  readonly doubtful: readonly FailedWrite[];
  readonly failed: readonly FailedWrite[];
  /** Surely unapplied writes named on the reservation's record again (see {@link LEFT}), for whoever finishes it. */
  readonly recorded?: readonly CounterWrite[];
}

/** Some counters of a settlement did not move after retries; `failed` names them. */
export class SpendWriteError extends Error {
  constructor(
    readonly failed: readonly (CounterKey & { readonly error: unknown })[],
    readonly attempted: number,
  ) {
    super(`recording spend failed on ${failed.length} of ${attempted} counters`, { cause: failed[0]?.error });
    this.name = 'SpendWriteError';
  }
}

/** Options for {@link dynamoSpend}. */
export interface DynamoSpendOptions {
  /**
   * Partition keys the settlements of a scope without a cap are spread over (1 to 4), for a scope
   * busier than one partition's 1,000 writes a second. See `dynamodb-day-counters.ts`.
   *
   * @default 1
   */
  readonly uncappedShards?: number;
  /** For the cache of what the rest of a period holds, and whether a reservation has expired. @default Date.now */
  readonly clock?: () => number;
}

export function dynamoSpend(client: DynamoDBClient, table: string, options: DynamoSpendOptions = {}): DynamoSpend {
  const clock = options.clock ?? Date.now;
  const priors = new PriorSums(client, table, options.clock);
  // What reserves that did not go through still hold, where their record may not say so (see `recordHeld`).
  const abandoned = new WeakMap<Reservation, readonly number[]>();
  // Settlements that took their record but did not move every counter (see `finishAgain`).
  const unsettled = new WeakMap<Reservation, WritesLeft>();
  // Settlements whose record delete may have been applied, its answer lost (see `takeRecord`).
  const deleteInDoubt = new WeakSet<Reservation>();
  // Records as the reconciler's query read them: what its settlement takes, should the delete's answer be lost.
  const listed = new WeakMap<Reservation, Item>();
  const shards = options.uncappedShards ?? 1;
  if (!Number.isInteger(shards) || shards < 1 || shards > DAY_SHARDS) throw new RangeError(`uncappedShards must be a whole number from 1 to ${DAY_SHARDS}, got ${shards}`);

  /**
   * A request-rate or in-flight claim, on the key's rate partition (or, for a record from before,
   * where it was claimed). Resolves the counter's new total, or undefined when refused.
   */
  const rateClaim = async (c: Claim, now: Date, pk: string): Promise<number | undefined> => {
    const values: Item = { ':amount': { N: String(c.amount) }, ':room': { N: String(c.limit - c.amount) } };
    let update = 'ADD committed :amount';
    if (c.unit === 'requests') {
      values[':expires'] = { N: String(Math.floor(now.getTime() / 1000) + RATE_COUNTER_TTL_SECONDS) };
      update = `SET expiresAt = if_not_exists(expiresAt, :expires) ${update}`;
    }
    let updated: Item | undefined;
    const granted = await conditionally(async () => {
      updated = (
        await client.send(
          new UpdateItemCommand({
            TableName: table,
            Key: { pk: { S: pk }, sk: { S: c.period } },
            UpdateExpression: update,
            ConditionExpression: 'attribute_not_exists(committed) OR committed <= :room',
            ExpressionAttributeValues: values,
            ReturnValues: 'UPDATED_NEW',
          }),
        )
      ).Attributes;
    });
    return granted ? (updated ? safeInteger(updated, 'committed') : 0) : undefined;
  };

  const add = (write: CounterWrite, throttlesUntil: ThrottlesUntil) => {
    const parts: string[] = [];
    const values: Item = {};
    for (const field of ['nanos', 'committed', 'requests'] as const) {
      if (write[field] === 0) continue;
      parts.push(`${field} :${field}`);
      values[`:${field}`] = { N: String(write[field]) };
    }
    if (parts.length === 0) return Promise.resolve();
    const input = { TableName: table, Key: { pk: { S: write.pk }, sk: { S: write.period } }, UpdateExpression: `ADD ${parts.join(', ')}`, ExpressionAttributeValues: values };
    return write.committed < 0 ? updateOnce(client, input, throttlesUntil) : client.send(new UpdateItemCommand(input));
  };

  /**
   * ADD is not idempotent, so a write resent after its answer was lost counts twice. Counted twice,
   * a write that adds makes a cap trip early, the direction we accept; one that hands back (lowers
   * `committed`) would let a later request past a cap, so it is resent only after an error that
   * says it was not applied, and otherwise left undone: held too long, never handed back twice.
   * The SDK, which would resend it after any 5xx or lost answer, sends it once ({@link updateOnce});
   * it resends it after throttles itself, with backoff, until `throttlesUntil`.
   * Resolves what did not move, or undefined when everything did.
   */
  const addAll = async (writes: readonly CounterWrite[], throttlesUntil: ThrottlesUntil): Promise<WritesLeft | undefined> => {
    let pending = writes;
    let unapplied: { write: CounterWrite; error: unknown }[] = [];
    const doubtful: { write: CounterWrite; error: unknown }[] = [];
    for (let attempt = 0; attempt < WRITE_ATTEMPTS && pending.length > 0; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
      const results = await Promise.allSettled(pending.map((write) => add(write, throttlesUntil)));
      unapplied = [];
      results.forEach((result, i) => {
        const write = pending[i]!;
        if (result.status === 'rejected') (write.committed < 0 && !notApplied(result.reason) ? doubtful : unapplied).push({ write, error: result.reason as unknown });
      });
      pending = unapplied.map(({ write }) => write);
    }
    if (pending.length === 0 && doubtful.length === 0) return undefined;
    const failedWrite = ({ write: { kind, id, period }, error }: { write: CounterWrite; error: unknown }): FailedWrite => ({ kind, id, period, error });
    return { unapplied: pending, doubtful: doubtful.map(failedWrite), failed: [...unapplied, ...doubtful].map(failedWrite) };
  };

  const reservationKey = (r: Reservation): Item => ({
    pk: { S: `reservations#${shardOf(r.id)}` },
    sk: { S: `${r.expiresAt.toISOString()}#${r.id}` },
  });

  /**
   * Claims a scope's caps on its counter for the request's day: one conditional ADD of what the
   * request holds, whose condition is every cap's room less the rest of its period. Resolves the
   * claim that refused, or when granted what each of the group's claims then uses (the counter as
   * the write left it, plus the rest of the period). A check that holds nothing (soft caps, a free
   * estimate) reads instead of writing.
   */
  const claimScope = async (group: ScopeClaims, day: string): Promise<Claim | number[]> => {
    const prior = await priors.of(group.scope, day, group.claims.map((c) => c.period));
    let room = Infinity;
    let soft = Infinity;
    for (const c of group.claims) {
      const rest = prior.get(c.period) ?? { committed: 0, nanos: 0 };
      if (c.rule === 'within') room = Math.min(room, c.limit - c.amount - rest.committed);
      else soft = Math.min(soft, c.limit - rest.nanos);
    }
    // An absent counter passes `attribute_not_exists`, so a cap the rest of the period already fills is refused here.
    if (room < 0 || soft <= 0) return firstRefused(group, prior, { committed: 0, nanos: 0 });
    const key = { pk: { S: dayPk(group.scope) }, sk: { S: day } };
    if (group.hold === 0) {
      const item = (await client.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item;
      const now = totalsOf(item);
      return now.committed <= room && now.nanos < soft ? usedBy(group, prior, now) : firstRefused(group, prior, now);
    }
    const conditions: string[] = [];
    const values: Item = { ':hold': { N: String(group.hold) } };
    if (room !== Infinity) {
      conditions.push('(attribute_not_exists(committed) OR committed <= :room)');
      values[':room'] = { N: String(room) };
    }
    if (soft !== Infinity) {
      conditions.push('(attribute_not_exists(nanos) OR nanos < :soft)');
      values[':soft'] = { N: String(soft) };
    }
    let updated: Item | undefined;
    const granted = await conditionally(async () => {
      updated = (
        await client.send(
          new UpdateItemCommand({
            TableName: table,
            Key: key,
            UpdateExpression: 'ADD committed :hold',
            ConditionExpression: conditions.join(' AND '),
            ExpressionAttributeValues: values,
            // The whole item (a few numbers): a soft cap's standing needs `nanos`, which this write does not change.
            ReturnValues: 'ALL_NEW',
          }),
        )
      ).Attributes;
    });
    if (granted) return usedBy(group, prior, totalsOf(updated));
    const item = (await client.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item;
    return firstRefused(group, prior, totalsOf(item));
  };

  /**
   * Writes a reserve's record again naming the claims it still holds (see {@link HELD}), replacing
   * whatever is there. Until that write is surely done, this process remembers them, for its own
   * release: when the record was deleted and this write failed, no record names them.
   */
  const recordHeld = async (reservation: Reservation, held: readonly number[]): Promise<void> => {
    abandoned.set(reservation, held);
    await client.send(
      new PutItemCommand({
        TableName: table,
        Item: { ...reservationKey(reservation), body: { S: serializeReservation(reservation) }, layout: { S: LAYOUT }, [HELD]: { S: JSON.stringify(held) } },
      }),
    );
    abandoned.delete(reservation);
  };

  /**
   * Hands back what a reserve that did not go through was granted (`held`, indexes of its claims),
   * once: only after deleting its record, so no one else can, or else by naming them on it.
   * `recorded` is whether its record was surely written. The refused request's client is waiting,
   * so a throttled hand-back is not waited out here: it is named on the record for the gateway's
   * release, which waits out throttles.
   */
  const abandon = async (reservation: Reservation, held: readonly number[], recorded: boolean): Promise<void> => {
    let mine: boolean;
    try {
      // Once: resent by the SDK after its answer was lost, a delete that was applied is refused, and
      // reads as the reconciler's, which would leave every claim held.
      mine = await conditionally(() => deleteOnce(client, { TableName: table, Key: reservationKey(reservation), ConditionExpression: 'attribute_exists(pk)' }));
    } catch (error) {
      // Deleted or not, unknown: whoever finishes the record hands back what it then names.
      await recordHeld(reservation, held);
      throw error;
    }
    // Written, yet gone: it outlived its expiry and the reconciler finished it, handing back its claims.
    if (!mine && recorded) return;
    const writes = undoWrites(reservation, held);
    const left = await addAll(writes, undefined);
    if (left) {
      // Undone or not, a doubtful write stays held: only the ones surely not applied are named.
      const unapplied = left.unapplied.flatMap((write) => write.claims ?? []);
      if (unapplied.length > 0) await recordHeld(reservation, unapplied);
      throw new SpendWriteError(left.failed, writes.length);
    }
  };

  /**
   * Deletes a reservation's record, which makes its settlement ours. Sent once by the SDK: resent
   * after it was applied, a delete is refused and would read as someone else's (the reconciler's),
   * leaving every claim held. After an unknown outcome (a 5xx, a lost answer) a consistent read
   * tells: still there, it was not applied and is sent again; gone, it was ours. Resolves the
   * record as it was (`record` undefined when the answer that carried it was lost), or undefined
   * when it was already gone.
   */
  const takeRecord = async (reservation: Reservation, throttlesUntil: ThrottlesUntil): Promise<{ readonly record?: Item } | undefined> => {
    const Key = reservationKey(reservation);
    for (let attempt = 1; ; attempt++) {
      try {
        const deleted = await deleteOnce(client, { TableName: table, Key, ConditionExpression: 'attribute_exists(pk)', ReturnValues: 'ALL_OLD' }, throttlesUntil);
        deleteInDoubt.delete(reservation);
        return { record: deleted.Attributes ?? {} };
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) {
          // Gone: ours when an earlier attempt of ours may have deleted it (its answer lost), and the
          // reconciler cannot have (see below).
          const ours = deleteInDoubt.delete(reservation) && !mayBeReconcilers(reservation);
          return ours ? {} : undefined;
        }
        if (notApplied(error)) throw error;
        deleteInDoubt.add(reservation);
        if (attempt >= WRITE_ATTEMPTS) throw error;
        const item = (await client.send(new GetItemCommand({ TableName: table, Key, ConsistentRead: true }))).Item;
        deleteInDoubt.delete(reservation);
        if (item === undefined) return mayBeReconcilers(reservation) ? undefined : {};
      }
    }
  };

  /**
   * Whether a record gone after a delete whose answer was lost may have been taken by the
   * reconciler rather than by us: only once it has expired, and only when we are the request (the
   * reconciler itself, having read the record, competes only with a request long dead). Then it is
   * taken as not ours: a hold left is a cap too strict; a hold handed back twice, a cap that leaks.
   */
  const mayBeReconcilers = (reservation: Reservation): boolean => !listed.has(reservation) && reservation.expiresAt.getTime() <= clock();

  /** What finishing a record sends: what it names as left or held, or else the settlement (a release: null). */
  const writesOf = (reservation: Reservation, record: Item | undefined, actualNanos: number | null, recorded?: readonly CounterWrite[]): readonly CounterWrite[] => {
    const left = record?.[LEFT]?.S;
    if (left !== undefined) return parseWrites(left);
    // Its answer lost: a record this process wrote again names what it wrote there.
    if (record === undefined && recorded !== undefined) return recorded;
    // A reserve that did not go through: only what it still holds is handed back.
    const held = heldOf(record) ?? abandoned.get(reservation);
    abandoned.delete(reservation);
    if (held !== undefined) return undoWrites(reservation, held);
    // A record whose answer was lost, and that no query here read, was written by this process: on today's layout.
    return record === undefined || record['layout']?.S === LAYOUT ? settlementWrites(reservation, actualNanos, shards) : legacySettlementWrites(reservation, actualNanos);
  };

  /**
   * Sends a settlement's writes once its record is ours. Writes DynamoDB refused even after backoff
   * are named on the record again ({@link LEFT}), so that the meter's retry or else the reconciler
   * sends them; doubtful ones are never resent. `before` is what an earlier try left.
   */
  const apply = async (reservation: Reservation, writes: readonly CounterWrite[], throttlesUntil: ThrottlesUntil, before?: WritesLeft): Promise<void> => {
    const left = await addAll(writes, throttlesUntil);
    const doubtful = [...(before?.doubtful ?? []), ...(left?.doubtful ?? [])];
    if (!left && doubtful.length === 0) {
      unsettled.delete(reservation);
      return;
    }
    let unapplied = left?.unapplied ?? [];
    let recorded: readonly CounterWrite[] | undefined;
    if (unapplied.length > 0) {
      try {
        await recordLeft(reservation, unapplied);
        recorded = unapplied;
        unapplied = [];
      } catch {
        // Remembered here alone: the meter's retry sends them.
      }
    }
    unsettled.set(reservation, { unapplied, doubtful, failed: [], ...(recorded && { recorded }) });
    throw new SpendWriteError([...(left?.failed ?? []), ...(before?.doubtful ?? [])], writes.length + (before?.doubtful.length ?? 0));
  };

  /** Writes a settlement's record again naming the writes it still has to send ({@link LEFT}). */
  const recordLeft = (reservation: Reservation, writes: readonly CounterWrite[]) =>
    client.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          ...reservationKey(reservation),
          body: { S: serializeReservation(reservation) },
          layout: { S: LAYOUT },
          [LEFT]: { S: JSON.stringify(writes.map(({ kind, id, pk, period, nanos, committed, requests }) => ({ kind, id, pk, period, nanos, committed, requests }))) },
        },
      }),
    );

  /** Settles (or, with null, releases) a reservation. Whoever deletes the record settles it: the request, or the reconciler once it expired. */
  const finish = async (reservation: Reservation, actualNanos: number | null): Promise<boolean> => {
    const unfinished = unsettled.get(reservation);
    // One budget for the throttles of the whole settlement, which the proxy and the reconciler must finish before their timeout.
    const throttlesUntil = Date.now() + THROTTLE_BUDGET_MS;
    if (unfinished) return finishAgain(reservation, unfinished, throttlesUntil);
    const taken = await takeRecord(reservation, throttlesUntil);
    if (taken) {
      await apply(reservation, writesOf(reservation, taken.record ?? listed.get(reservation), actualNanos), throttlesUntil);
      return true;
    }
    // Gone: the reconciler's, or a reserve that did not go through deleted it and could not name on
    // it what it still holds, which this process then remembers.
    const held = abandoned.get(reservation);
    if (held === undefined) return false;
    abandoned.delete(reservation);
    await apply(reservation, undoWrites(reservation, held), throttlesUntil);
    return true;
  };

  /**
   * A settlement retried (the meter retries) after its record was deleted and some of its counters
   * did not move: only the writes surely not applied are sent again, or taken back from the record
   * that names them (gone, the reconciler sent them). One that may have been applied is never
   * resent, and keeps failing the settlement, so it ends as `spend_write_failed` rather than as
   * settled twice, or as settled by someone else.
   */
  const finishAgain = async (reservation: Reservation, previous: WritesLeft, throttlesUntil: ThrottlesUntil): Promise<boolean> => {
    let writes = previous.unapplied;
    if (previous.recorded) {
      const taken = await takeRecord(reservation, throttlesUntil);
      // Gone: the reconciler sent them.
      if (taken) writes = [...writes, ...writesOf(reservation, taken.record, null, previous.recorded)];
    }
    await apply(reservation, writes, throttlesUntil, previous);
    return true;
  };

  return {
    async reserve(reservation) {
      assertNanos(reservation.estimateNanos);
      const hopeless = reservation.claims.find((c) => c.rule === 'within' && c.amount > c.limit);
      if (hopeless) return { ok: false, refused: hopeless };
      const now = new Date();
      const day = dayLabel(reservation.at);
      const groups = spendClaimsByScope(reservation.claims);
      const rates = reservation.claims.filter((c) => c.unit !== 'nanos');
      // Each claim resolves what it then uses (granted: numbers, one per claim of a group) or the claim that refused.
      const [recorded, ...claimed] = await Promise.allSettled([
        client.send(
          new PutItemCommand({ TableName: table, Item: { ...reservationKey(reservation), body: { S: serializeReservation(reservation) }, layout: { S: LAYOUT } } }),
        ),
        ...groups.map((group) => claimScope(group, day)),
        ...rates.map((c) => rateClaim(c, now, ratePk(c.scope)).then((used) => (used === undefined ? c : [used]))),
      ]);
      const refusals = claimed.flatMap((r) => (r.status === 'fulfilled' && !Array.isArray(r.value) ? [r.value] : []));
      const failure = [recorded, ...claimed].find((r) => r.status === 'rejected');
      if (refusals.length === 0 && !failure) {
        const used = new Map<Claim, number>();
        [...groups.map((group) => group.claims), ...rates.map((c) => [c])].forEach((claims, i) => {
          const r = claimed[i];
          const values = r?.status === 'fulfilled' ? r.value : undefined;
          if (Array.isArray(values)) claims.forEach((c, j) => used.set(c, values[j] ?? 0));
        });
        return { ok: true, standing: reservation.claims.map((c) => standingOf(c, used.get(c) ?? 0)) };
      }

      // Hand back what did go through: the claims granted, as indexes into the reservation's own.
      const held: number[] = [];
      const granted = (r: PromiseSettledResult<Claim | number[]> | undefined) => r?.status === 'fulfilled' && Array.isArray(r.value);
      groups.forEach((group, i) => {
        if (granted(claimed[i])) for (const c of group.claims) held.push(reservation.claims.indexOf(c));
      });
      rates.forEach((c, i) => {
        if (granted(claimed[groups.length + i])) held.push(reservation.claims.indexOf(c));
      });
      const undone = abandon(reservation, held, recorded?.status === 'fulfilled');
      if (failure?.status === 'rejected') {
        // The first failure is the one to report; the hand-back's own, if any, is the same outage.
        await undone.catch(() => {});
        throw failure.reason;
      }
      await undone;
      // The first refused claim in the reservation's own order, as the caller listed its caps.
      const refused = reservation.claims.find((c) => refusals.includes(c));
      if (!refused) throw new Error('unreachable: a refusal without its claim');
      return { ok: false, refused };
    },

    async settle(reservation, actualNanos) {
      assertNanos(actualNanos);
      return finish(reservation, actualNanos);
    },

    release: (reservation) => finish(reservation, null),

    async expiredReservations(now, limit = 100) {
      const shards = await Promise.all(
        Array.from({ length: RESERVATION_SHARDS }, (_, shard) =>
          queryAll(client, {
            TableName: table,
            // sk is `<expiry>#<id>`; '$' sorts just after '#', so this takes every expiry up to and including now.
            KeyConditionExpression: 'pk = :pk AND sk < :bound',
            ExpressionAttributeValues: { ':pk': { S: `reservations#${shard}` }, ':bound': { S: `${now.toISOString()}$` } },
          }),
        ),
      );
      return shards
        .flat()
        .sort((a, b) => compareText(a['sk']?.S ?? '', b['sk']?.S ?? ''))
        .slice(0, limit)
        .map((item) => {
          const parsed = parseReservation(item['body']?.S ?? '{}');
          const left = item[LEFT]?.S;
          const reservation =
            // A reserve that did not go through forwarded nothing: it is settled at nothing (see HELD).
            heldOf(item) !== undefined
              ? { ...parsed, estimateNanos: 0 }
              : // A settlement's writes left (see LEFT) are sent as they are: what they record is the request's spend.
                left !== undefined
                ? { ...parsed, estimateNanos: Math.max(0, ...parseWrites(left).map((w) => w.nanos)) }
                : parsed;
          listed.set(reservation, item);
          return reservation;
        });
    },

    async getSpend(query) {
      const kind = query?.kind;
      const id = query?.id;
      const days: { scope: Scope; totals: DayTotals }[] = [];
      if (kind !== undefined && id !== undefined) {
        const scope = { kind, id };
        const shards = await Promise.all(
          Array.from({ length: DAY_SHARDS }, (_, shard) =>
            queryAll(client, {
              TableName: table,
              KeyConditionExpression: 'pk = :pk AND begins_with(sk, :day)',
              ExpressionAttributeValues: { ':pk': { S: dayPk(scope, shard) }, ':day': { S: 'day:' } },
            }).then((items) => items.map((item) => ({ scope, totals: dayTotals(item, shard) }))),
          ),
        );
        days.push(...shards.flat());
      } else {
        // A kind is a pk prefix (`project#`, `project.2#`); an id alone is a pk suffix, which no filter expression can match: filtered below.
        const items = await scanAll(client, {
          TableName: table,
          FilterExpression: kind === undefined ? 'begins_with(sk, :day)' : 'begins_with(sk, :day) AND begins_with(pk, :kind)',
          ExpressionAttributeValues: { ':day': { S: 'day:' }, ...(kind !== undefined && { ':kind': { S: kind } }) },
        });
        for (const item of items) {
          const pk = item['pk']?.S ?? '';
          const parsed = parseDayPk(pk, SCOPE_KINDS);
          if (!parsed) throw new Error(`unexpected item in spend table: pk ${pk}`);
          if ((kind === undefined || parsed.scope.kind === kind) && (id === undefined || parsed.scope.id === id)) days.push({ scope: parsed.scope, totals: dayTotals(item, parsed.shard) });
        }
      }
      return rollUp(days).sort((a, b) => compareText(a.scope.kind, b.scope.kind) || compareText(a.scope.id, b.scope.id) || compareText(a.period, b.period));
    },
  };
}

/** A scope's spend claims, checked together on its day counter; `hold` is what the counter holds for the request. */
interface ScopeClaims {
  readonly scope: Scope;
  readonly claims: Claim[];
  hold: number;
}

function spendClaimsByScope(claims: readonly Claim[]): ScopeClaims[] {
  const groups = new Map<string, ScopeClaims>();
  for (const c of claims) {
    if (c.unit !== 'nanos') continue;
    const name = `${c.scope.kind}\u0000${c.scope.id}`;
    let group = groups.get(name);
    if (!group) groups.set(name, (group = { scope: c.scope, claims: [], hold: 0 }));
    group.claims.push(c);
    // One counter holds for every period of the scope: the largest amount any of them asked for.
    if (c.rule === 'within') group.hold = Math.max(group.hold, c.amount);
  }
  return [...groups.values()];
}

function totalsOf(item: Item | undefined): Prior {
  return { committed: item ? safeInteger(item, 'committed') : 0, nanos: item ? safeInteger(item, 'nanos') : 0 };
}

/** What each of a scope's claims uses once granted: the period's rest plus today's counter (`now`), committed for strict caps, settled for soft. */
function usedBy(group: ScopeClaims, prior: Map<string, Prior>, now: Prior): number[] {
  return group.claims.map((c) => {
    const rest = prior.get(c.period) ?? { committed: 0, nanos: 0 };
    return c.rule === 'within' ? rest.committed + now.committed : rest.nanos + now.nanos;
  });
}

/** Which of a scope's claims its counter's totals (`now`) and the rest of each period do not leave room for. */
function firstRefused(group: ScopeClaims, prior: Map<string, { committed: number; nanos: number }>, now: { committed: number; nanos: number }): Claim {
  let tightest: { claim: Claim; margin: number } | undefined;
  for (const c of group.claims) {
    const rest = prior.get(c.period) ?? { committed: 0, nanos: 0 };
    const margin = c.rule === 'within' ? c.limit - c.amount - rest.committed - now.committed : c.limit - rest.nanos - now.nanos - 1;
    if (margin < 0) return c;
    if (!tightest || margin < tightest.margin) tightest = { claim: c, margin };
  }
  // Granted room that was gone by the time it was read back (a concurrent claim): the tightest cap.
  return tightest!.claim;
}

/**
 * A settlement on the day-counter layout: each scope's counter for the request's day gains the cost
 * and a request (on its main counter if it claimed a cap, a shard otherwise) and hands back what it
 * held; in-flight claims hand back their slot. A release (null) only hands back.
 */
function settlementWrites(reservation: Reservation, actualNanos: number | null, shards: number): CounterWrite[] {
  const day = dayLabel(reservation.at);
  const groups = new Map(spendClaimsByScope(reservation.claims).map((group) => [`${group.scope.kind}\u0000${group.scope.id}`, group]));
  const writes: CounterWrite[] = [];
  for (const scope of reservation.scopes) {
    const name = `${scope.kind}\u0000${scope.id}`;
    const group = groups.get(name);
    groups.delete(name);
    const hold = group?.hold ?? 0;
    if (actualNanos === null) {
      if (hold > 0) writes.push({ ...scope, pk: dayPk(scope), period: day, nanos: 0, committed: -hold, requests: 0 });
      continue;
    }
    writes.push({ ...scope, pk: dayPk(scope, group ? 0 : shardFor(reservation.id, shards)), period: day, nanos: actualNanos, committed: actualNanos - hold, requests: 1 });
  }
  // Claims on scopes the spend is not recorded against hand back what they held.
  for (const group of groups.values()) {
    if (group.hold > 0) writes.push({ ...group.scope, pk: dayPk(group.scope), period: day, nanos: 0, committed: -group.hold, requests: 0 });
  }
  for (const c of reservation.claims) {
    if (c.unit === 'inflight' && c.amount !== 0) writes.push({ ...c.scope, pk: ratePk(c.scope), period: c.period, nanos: 0, committed: -c.amount, requests: 0 });
  }
  return writes;
}

/**
 * Undoing a reserve: each of the `held` claims (indexes into the reservation's) hands back what it
 * took, a rate claim included, since the request was never forwarded.
 */
function undoWrites(reservation: Reservation, held: readonly number[]): CounterWrite[] {
  const day = dayLabel(reservation.at);
  const writes: CounterWrite[] = [];
  const index = new Map(held.map((i) => [reservation.claims[i], i] as const));
  const claims = [...index.keys()].filter((c): c is Claim => c !== undefined);
  for (const group of spendClaimsByScope(claims)) {
    if (group.hold > 0) writes.push({ ...group.scope, pk: dayPk(group.scope), period: day, nanos: 0, committed: -group.hold, requests: 0, claims: group.claims.map((c) => index.get(c)!) });
  }
  for (const c of claims) {
    if (c.unit !== 'nanos' && c.amount !== 0) writes.push({ ...c.scope, pk: ratePk(c.scope), period: c.period, nanos: 0, committed: -c.amount, requests: 0, claims: [index.get(c)!] });
  }
  return writes;
}

/** The writes a record names as left to send ({@link LEFT}). */
function parseWrites(json: string): CounterWrite[] {
  return (JSON.parse(json) as CounterWrite[]).map(({ kind, id, pk, period, nanos, committed, requests }) => ({ kind, id, pk, period, nanos, committed, requests }));
}

/** The claims a record of a reserve that did not go through still holds; undefined on any other record. */
function heldOf(record: Item | undefined): readonly number[] | undefined {
  const held = record?.[HELD]?.S;
  return held === undefined ? undefined : (JSON.parse(held) as number[]);
}

/**
 * DynamoDB answered and refused the write (throttled, invalid, a condition): it did not happen.
 * A 5xx, a timeout or a dropped connection may have happened.
 */
function notApplied(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return status !== undefined && status >= 400 && status < 500;
}

/** A reservation recorded before the day-counter layout, settled on the per-period counters it claimed. */
function legacySettlementWrites(reservation: Reservation, actualNanos: number | null): CounterWrite[] {
  return settlementDeltas(reservation, actualNanos).map((delta) => ({ ...delta, pk: `${delta.kind}#${delta.id}` }));
}

/** Day counters summed per scope and day (across shards), then into each day's week, month and lifetime. */
function rollUp(days: readonly { scope: Scope; totals: DayTotals }[]): SpendCounter[] {
  const counters = new Map<string, { scope: Scope; period: string; nanos: number; committed: number; requests: number }>();
  for (const { scope, totals } of days) {
    for (const period of periodLabels(new Date(`${totals.day.slice(4)}T00:00:00Z`))) {
      const name = `${scope.kind}\u0000${scope.id}\u0000${period}`;
      let counter = counters.get(name);
      if (!counter) counters.set(name, (counter = { scope, period, nanos: 0, committed: 0, requests: 0 }));
      counter.nanos += totals.nanos;
      counter.committed += totals.committed;
      counter.requests += totals.requests;
    }
  }
  return [...counters.values()].map(({ scope, period, nanos, committed, requests }) => ({ scope, period, nanos, reservedNanos: committed - nanos, requests }));
}

function shardOf(id: string): number {
  let hash = 0;
  for (let i = 0; i < id.length; i++) hash = (hash * 31 + id.charCodeAt(i)) >>> 0;
  return hash % RESERVATION_SHARDS;
}
