import { DeleteItemCommand, type DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { claimKey, isSpendPeriod, parseReservation, serializeReservation, settlementDeltas, type CounterDelta, type CounterKey } from './counters';
import { compareText, conditionally, type Item, queryAll, safeInteger, scanAll } from './dynamodb-items';
import { assertNanos, type Claim, type Reservation, type ReserveOutcome, type ScopeKind, type SpendCounter, type SpendQuery } from './port';

/**
 * Spend counters and reservations on DynamoDB: one item per scope × period (`pk` = `<kind>#<id>`,
 * `sk` = period), moved with `ADD` so concurrent gateways never lose an increment.
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

export function dynamoSpend(client: DynamoDBClient, table: string): DynamoSpend {
  const counterKey = (key: CounterKey): Item => ({ pk: { S: `${key.kind}#${key.id}` }, sk: { S: key.period } });

  const claim = (c: Claim, now: Date): Promise<boolean> => {
    const values: Item = { ':amount': { N: String(c.amount) } };
    let condition: string;
    if (c.rule === 'within') {
      values[':room'] = { N: String(c.limit - c.amount) };
      condition = 'attribute_not_exists(committed) OR committed <= :room';
    } else {
      values[':limit'] = { N: String(c.limit) };
      condition = 'attribute_not_exists(nanos) OR nanos < :limit';
    }
    let update = 'ADD committed :amount';
    if (c.unit === 'requests') {
      values[':expires'] = { N: String(Math.floor(now.getTime() / 1000) + RATE_COUNTER_TTL_SECONDS) };
      update = `SET expiresAt = if_not_exists(expiresAt, :expires) ${update}`;
    }
    return conditionally(() =>
      client.send(
        new UpdateItemCommand({
          TableName: table,
          Key: counterKey(claimKey(c)),
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
        }),
      ),
    );
  };

  const add = (delta: CounterDelta) => {
    const parts: string[] = [];
    const values: Item = {};
    for (const field of ['nanos', 'committed', 'requests'] as const) {
      if (delta[field] === 0) continue;
      parts.push(`${field} :${field}`);
      values[`:${field}`] = { N: String(delta[field]) };
    }
    if (parts.length === 0) return Promise.resolve();
    return client.send(
      new UpdateItemCommand({ TableName: table, Key: counterKey(delta), UpdateExpression: `ADD ${parts.join(', ')}`, ExpressionAttributeValues: values }),
    );
  };

  /**
   * ADD is not idempotent, so a retried write whose first response was lost counts twice. We
   * accept that direction: over-counting makes a cap trip early; dropping a write lets it leak.
   */
  const addAll = async (deltas: CounterDelta[]): Promise<void> => {
    let pending = deltas;
    let errors: unknown[] = [];
    for (let attempt = 0; attempt < WRITE_ATTEMPTS && pending.length > 0; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
      const results = await Promise.allSettled(pending.map(add));
      errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      pending = pending.filter((_, i) => results[i]?.status === 'rejected');
    }
    if (pending.length > 0) throw new SpendWriteError(pending.map((d, i) => ({ ...d, error: errors[i] })), deltas.length);
  };

  const reservationKey = (r: Reservation): Item => ({
    pk: { S: `reservations#${shardOf(r.id)}` },
    sk: { S: `${r.expiresAt.toISOString()}#${r.id}` },
  });

  /** Settles (or, with null, releases) a reservation. Whoever deletes the record settles it: the request, or the reconciler once it expired. */
  const finish = async (reservation: Reservation, actualNanos: number | null): Promise<boolean> => {
    const mine = await conditionally(() =>
      client.send(new DeleteItemCommand({ TableName: table, Key: reservationKey(reservation), ConditionExpression: 'attribute_exists(pk)' })),
    );
    if (!mine) return false;
    await addAll(settlementDeltas(reservation, actualNanos));
    return true;
  };

  return {
    async reserve(reservation) {
      assertNanos(reservation.estimateNanos);
      const hopeless = reservation.claims.find((c) => c.rule === 'within' && c.amount > c.limit);
      if (hopeless) return { ok: false, refused: hopeless };
      const now = new Date();
      const [recorded, ...claimed] = await Promise.allSettled([
        client.send(new PutItemCommand({ TableName: table, Item: { ...reservationKey(reservation), body: { S: serializeReservation(reservation) } } })),
        ...reservation.claims.map((c) => claim(c, now)),
      ]);
      const refusedAt = claimed.findIndex((r) => r.status === 'fulfilled' && !r.value);
      const failure = [recorded, ...claimed].find((r) => r.status === 'rejected');
      if (refusedAt === -1 && !failure) return { ok: true };

      // Undo what did go through: held claims and the reservation record.
      const held = reservation.claims.filter((_, i) => {
        const r = claimed[i];
        return r?.status === 'fulfilled' && r.value;
      });
      await addAll(held.filter((c) => c.amount !== 0).map((c) => ({ ...claimKey(c), nanos: 0, committed: -c.amount, requests: 0 })));
      if (recorded?.status === 'fulfilled') await client.send(new DeleteItemCommand({ TableName: table, Key: reservationKey(reservation) }));
      if (failure?.status === 'rejected') throw failure.reason;
      const refused = reservation.claims[refusedAt];
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
        .map((item) => parseReservation(item['body']?.S ?? '{}'));
    },

    async getSpend(query) {
      const kind = query?.kind;
      const id = query?.id;
      let items: Item[];
      if (kind !== undefined && id !== undefined) {
        items = await queryAll(client, {
          TableName: table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: `${kind}#${id}` } },
        });
      } else if (kind !== undefined) {
        items = await scanAll(client, {
          TableName: table,
          FilterExpression: 'begins_with(pk, :prefix)',
          ExpressionAttributeValues: { ':prefix': { S: `${kind}#` } },
        });
      } else {
        // An id alone is a pk suffix, which no filter expression can match; filter below.
        items = await scanAll(client, { TableName: table });
      }
      return items
        .filter((item) => !item['pk']?.S?.startsWith('reservations#') && isSpendPeriod(item['sk']?.S ?? ''))
        .map(toCounter)
        .filter((counter) => id === undefined || counter.scope.id === id)
        .sort((a, b) => compareText(a.scope.kind, b.scope.kind) || compareText(a.scope.id, b.scope.id) || compareText(a.period, b.period));
    },
  };
}

function shardOf(id: string): number {
  let hash = 0;
  for (let i = 0; i < id.length; i++) hash = (hash * 31 + id.charCodeAt(i)) >>> 0;
  return hash % RESERVATION_SHARDS;
}

function toCounter(item: Item): SpendCounter {
  const pk = item['pk']?.S ?? '';
  // Split at the first '#': kinds never contain one, ids may.
  const split = pk.indexOf('#');
  const kind = pk.slice(0, split);
  if (split < 0 || !Object.hasOwn(SCOPE_KINDS, kind)) throw new Error(`unexpected item in spend table: pk ${pk}`);
  const nanos = safeInteger(item, 'nanos');
  return {
    scope: { kind: kind as ScopeKind, id: pk.slice(split + 1) },
    period: item['sk']?.S ?? '',
    nanos,
    reservedNanos: safeInteger(item, 'committed') - nanos,
    requests: safeInteger(item, 'requests'),
  };
}
