import { randomUUID } from 'node:crypto';
import type { ProviderSettings } from '../config/config';
import { periodLabel, type PeriodKind } from '../store/periods';
import { scopesOf, type Claim, type KeyRecord, type Limits, type LimitMode, type ProjectRecord, type Reservation, type Scope, type UserRecord } from '../store/port';

/** The records whose limits apply to a request made with `key`. */
export interface Policy {
  readonly key: KeyRecord;
  readonly project: ProjectRecord | undefined;
  readonly user: UserRecord | undefined;
  /** The project's own provider accounts (BYOK), which its keys use in place of the gateway's. */
  readonly accounts?: readonly ProviderSettings[];
}

const LIMIT_PERIODS: readonly [keyof Limits, PeriodKind][] = [
  ['daily', 'day'],
  ['weekly', 'week'],
  ['monthly', 'month'],
  ['lifetime', 'lifetime'],
];

/**
 * Turns a request's policy and estimate into the claims the store must grant before the request
 * may be forwarded: a spend claim per capped scope × period (the estimate in strict mode; a bare
 * "still under the cap?" check in soft mode), plus the key's request-rate and concurrency claims.
 * `account` is the one this attempt goes to: a project's own account adds its `byok` scope.
 */
export function planReservation(policy: Policy, estimateNanos: number, at: Date, ttlMs: number, account: BilledAccount): Reservation {
  const mode: LimitMode = policy.project?.mode ?? 'strict';
  const claims: Claim[] = [];
  const spendClaims = (scope: Scope, limits: Limits | undefined): void => {
    if (!limits) return;
    for (const [field, kind] of LIMIT_PERIODS) {
      const limit = limits[field];
      if (limit === undefined) continue;
      const period = periodLabel(kind, at);
      claims.push(
        mode === 'strict'
          ? { scope, period, unit: 'nanos', amount: estimateNanos, limit, rule: 'within' }
          : { scope, period, unit: 'nanos', amount: 0, limit, rule: 'under' },
      );
    }
  };
  const { key } = policy;
  const keyScope: Scope = { kind: 'key', id: key.id };
  spendClaims(keyScope, key.limits);
  if (policy.user) spendClaims({ kind: 'user', id: policy.user.name }, policy.user.limits);
  if (policy.project) spendClaims({ kind: 'project', id: policy.project.name }, policy.project.limits);
  claims.push(...rateClaims(key, at));
  const own = account.project === undefined ? undefined : byokScope(key.project, account.name);
  const scopes = own ? [...scopesOf(key), own] : scopesOf(key);
  return { id: randomUUID(), at, scopes, claims, estimateNanos, expiresAt: new Date(at.getTime() + ttlMs) };
}

/** The account an attempt goes to: whose credential its spend is billed on. */
export type BilledAccount = Pick<ProviderSettings, 'name' | 'project'>;

/**
 * Spend on a project's own account (BYOK), recorded beside the capped scopes and never capped
 * itself: the project's caps hold over it as over managed spend. Managed requests record nothing
 * extra (their share is the project's total less this), so they cost no more writes than before.
 */
export function byokScope(project: string, account: string): Scope {
  return { kind: 'byok', id: `${project}/${account}` };
}

/**
 * The claims of a call that runs no model: only the key's request-rate and concurrency claims, and
 * no scopes, so settling it releases them without counting spend. Undefined when the key has none.
 */
export function planRateClaims(policy: Policy, at: Date, ttlMs: number): Reservation | undefined {
  const claims = rateClaims(policy.key, at);
  if (claims.length === 0) return undefined;
  return { id: randomUUID(), at, scopes: [], claims, estimateNanos: 0, expiresAt: new Date(at.getTime() + ttlMs) };
}

function rateClaims(key: KeyRecord, at: Date): Claim[] {
  const claims: Claim[] = [];
  const keyScope: Scope = { kind: 'key', id: key.id };
  const perMinute = key.rateLimits?.requestsPerMinute;
  if (perMinute !== undefined) {
    claims.push({ scope: keyScope, period: `minute:${at.toISOString().slice(0, 16)}`, unit: 'requests', amount: 1, limit: perMinute, rule: 'within' });
  }
  const concurrent = key.rateLimits?.concurrent;
  if (concurrent !== undefined) {
    claims.push({ scope: keyScope, period: 'inflight', unit: 'inflight', amount: 1, limit: concurrent, rule: 'within' });
  }
  return claims;
}
