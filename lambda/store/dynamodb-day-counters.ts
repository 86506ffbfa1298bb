import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type Item, queryAll, safeInteger } from './dynamodb-items';
import { periodLabels } from './periods';
import type { Scope, ScopeKind } from './port';

/**
 * The spend table's counter layout. A scope's spend lives in **day counters only**; its week,
 * month and lifetime totals are sums of its days, read when wanted instead of written by every
 * request. A request therefore writes one counter per scope:
 *
 * ```
 *  scope with a spend claim (capped)        pk <kind>#<id>         sk day:2026-11-27   claim + settlement: 2 writes
 *  scope without one                        pk <kind>[.<n>]#<id>   sk day:2026-11-27   settlement: 1 write (on shard n, if sharded)
 *  rate counters (request rate, in flight)  pk <kind>.rate#<id>    sk minute:… / inflight
 * ```
 *
 * A cap on a period is checked against the scope's counter for the request's day, with the rest
 * of the period (its other days, and today's other shards) read, cached, and subtracted from the
 * room: `committed(today) + estimate ≤ cap − committed(rest of the period)`. Every cap of a scope
 * — day, week, month, lifetime — becomes one condition on that one item, so a capped scope costs
 * two writes a request whatever caps it has. Days before yesterday no longer change once their
 * requests have settled, and are read once a day; yesterday and today's other shards, once a
 * minute (see {@link PriorSums}).
 *
 * Sharding (`uncappedShards`, off by default) spreads the settlements of scopes without a cap over
 * up to {@link DAY_SHARDS} partition keys, for a scope busier than one partition's 1,000 writes a
 * second. Its price: spend settled on a shard reaches a cap set later only within
 * {@link RECENT_TTL_MS} (a capped scope's own requests always write its main counter).
 */
export const DAY_SHARDS = 4;

/** `<kind>#<id>` for the main counter (shard 0), `<kind>.<n>#<id>` for the others. Kinds hold no `.` or `#`; ids may. */
export function dayPk(scope: Scope, shard = 0): string {
  return shard === 0 ? `${scope.kind}#${scope.id}` : `${scope.kind}.${shard}#${scope.id}`;
}

/** Request-rate and in-flight counters, on a partition of their own beside the scope's spend. */
export function ratePk(scope: Scope): string {
  return `${scope.kind}.rate#${scope.id}`;
}

/** The shard an uncapped settlement writes, of `shards`: spread by reservation id, so no one partition takes them all. */
export function shardFor(reservationId: string, shards: number): number {
  if (shards <= 1) return 0;
  let hash = 0;
  for (let i = 0; i < reservationId.length; i++) hash = (hash * 31 + reservationId.charCodeAt(i)) >>> 0;
  return hash % shards;
}

/** A day counter's pk read back: its scope and shard; undefined for anything else in the table. */
export function parseDayPk(pk: string, kinds: Readonly<Record<ScopeKind, true>>): { scope: Scope; shard: number } | undefined {
  const split = pk.indexOf('#');
  if (split < 0) return undefined;
  const [kind, shardText] = pk.slice(0, split).split('.');
  if (kind === undefined || !Object.hasOwn(kinds, kind)) return undefined;
  const shard = shardText === undefined ? 0 : Number(shardText);
  if (!Number.isInteger(shard) || shard < 0 || shard >= DAY_SHARDS) return undefined;
  return { scope: { kind: kind as ScopeKind, id: pk.slice(split + 1) }, shard };
}

export function dayLabel(at: Date): string {
  return periodLabels(at)[0] ?? `day:${at.toISOString().slice(0, 10)}`;
}

const DAY_MS = 86_400_000;

function dayBefore(day: string, days: number): string {
  return `day:${new Date(Date.parse(`${day.slice(4)}T00:00:00Z`) - days * DAY_MS).toISOString().slice(0, 10)}`;
}

/**
 * The first and last day labels of a spend period, for sort-key ranges; they need not be real
 * dates (`day:2026-11-31` bounds November). Undefined for anything that is not a spend period.
 */
export function daysOf(period: string): { readonly from: string; readonly to: string } | undefined {
  if (period === 'lifetime') return { from: 'day:', to: 'day:~' };
  if (period.startsWith('day:')) return { from: period, to: period };
  if (period.startsWith('month:')) return { from: `day:${period.slice(6)}-01`, to: `day:${period.slice(6)}-31` };
  if (period.startsWith('week:')) {
    const monday = `day:${period.slice(5)}`;
    return { from: monday, to: dayBefore(monday, -6) };
  }
  return undefined;
}

/** One counter item's totals. */
export interface DayTotals {
  readonly day: string;
  readonly shard: number;
  readonly nanos: number;
  readonly committed: number;
  readonly requests: number;
}

/** Every day counter of a scope between two day labels (inclusive), across its shards. */
export async function readDays(client: DynamoDBClient, table: string, scope: Scope, from: string, to: string): Promise<DayTotals[]> {
  if (from > to) return [];
  const shards = await Promise.all(
    Array.from({ length: DAY_SHARDS }, (_, shard) =>
      queryAll(client, {
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': { S: dayPk(scope, shard) }, ':from': { S: from }, ':to': { S: to } },
      }).then((items) => items.map((item) => dayTotals(item, shard))),
    ),
  );
  return shards.flat();
}

export function dayTotals(item: Item, shard: number): DayTotals {
  return { day: item['sk']?.S ?? '', shard, nanos: safeInteger(item, 'nanos'), committed: safeInteger(item, 'committed'), requests: safeInteger(item, 'requests') };
}

/** What the rest of a period holds, beside the counter a claim is checked on. */
export interface Prior {
  readonly committed: number;
  readonly nanos: number;
}

interface ScopeSums {
  /** Days up to the day before yesterday: final once their requests have settled. */
  closed: DayTotals[];
  closedFrom: string;
  /** Yesterday (late settlements land there after midnight) and today's other shards (uncapped settlements). */
  recent: DayTotals[];
  recentAt: number;
}

/** How long yesterday's and today's other counters are trusted: settlements that land there are counted against caps within this. */
export const RECENT_TTL_MS = 60_000;
const MAX_SCOPES = 4_096;

/**
 * The sums a claim subtracts from its cap, per scope and day, kept for as long as they can be
 * trusted (see {@link RECENT_TTL_MS}). Stale only ever by settlements of requests that held no
 * claim on the scope — made before the cap was set, or on yesterday's counter — and by the
 * difference between a request's estimate and its cost, which makes the sum too high, not too low.
 */
export class PriorSums {
  private readonly scopes = new Map<string, ScopeSums & { day: string }>();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly clock: () => number = Date.now,
  ) {}

  /** For each period, the rest of it beside `scope`'s main counter for `day`. */
  async of(scope: Scope, day: string, periods: readonly string[]): Promise<Map<string, Prior>> {
    const ranges = periods.map((period) => {
      const range = daysOf(period);
      if (!range || range.from > day || range.to < day) throw new Error(`a claim on ${period} cannot be checked against the counter for ${day}`);
      return [period, range] as const;
    });
    const from = ranges.reduce((earliest, [, range]) => (range.from < earliest ? range.from : earliest), day);
    const sums = await this.sums(scope, day, from);
    const result = new Map<string, Prior>();
    for (const [period, range] of ranges) {
      let committed = 0;
      let nanos = 0;
      for (const totals of [...sums.closed, ...sums.recent]) {
        if (totals.day < range.from || totals.day > range.to || (totals.day === day && totals.shard === 0)) continue;
        committed += totals.committed;
        nanos += totals.nanos;
      }
      result.set(period, { committed, nanos });
    }
    return result;
  }

  private async sums(scope: Scope, day: string, from: string): Promise<ScopeSums> {
    const name = `${scope.kind}\u0000${scope.id}`;
    const yesterday = dayBefore(day, 1);
    let entry = this.scopes.get(name);
    if (entry && entry.day !== day) entry = undefined;
    const now = this.clock();
    const needClosed = !entry || from < entry.closedFrom;
    const needRecent = !entry || now - entry.recentAt >= RECENT_TTL_MS;
    if (!needClosed && !needRecent && entry) return entry;
    const [closed, recent] = await Promise.all([
      needClosed || !entry ? readDays(this.client, this.table, scope, from, dayBefore(day, 2)) : Promise.resolve(entry.closed),
      needRecent || !entry ? readDays(this.client, this.table, scope, yesterday, day) : Promise.resolve(entry.recent),
    ]);
    const next = { day, closed, closedFrom: needClosed || !entry ? from : entry.closedFrom, recent, recentAt: needRecent || !entry ? now : entry.recentAt };
    if (this.scopes.size >= MAX_SCOPES && !this.scopes.has(name)) this.scopes.clear();
    this.scopes.set(name, next);
    return next;
  }
}
