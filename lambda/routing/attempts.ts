import type { GroupMember } from '../config/routing';
import { GatewayError, GatewayTimeLimitError } from '../core/errors';
import { failedOn } from '../core/failed-request';
import type { GatewayResponse } from '../core/http-types';
import type { Logger } from '../core/log';
import type { Candidate } from '../core/route';
import type { UpstreamResponse } from '../core/upstream';
import { accountLogFields } from '../observability/account-fields';
import { attemptOrder } from './attempt-order';
import type { CircuitBreaker } from './circuit-breaker';

/** What an attempt needs of its plan: the member it goes to. */
export interface Planned {
  readonly candidate: Candidate;
}

/**
 * How one request makes its attempts; the loop decides which member goes next and when to stop.
 * A metered request reserves per attempt; a free one holds its rate claims once, outside.
 */
export interface AttemptSteps<Plan extends Planned> {
  /**
   * Readies a member to be attempt number `attempt` (from 1): its credential, its model, its
   * price, its upstream path. A GatewayError that only this member has (no credential, no price
   * for the model where the account refuses unpriced models, no name for the model) passes it by;
   * any other is the request's own, and ends it.
   */
  plan(candidate: Candidate, attempt: number): Promise<Plan>;
  /** Takes what the attempt holds (its reservation); a refusal thrown here (a spend cap) ends the request. */
  hold(plan: Plan): Promise<void>;
  /** Hands back what a failed attempt held, now that another attempt follows it. Never throws. */
  letGo(plan: Plan): Promise<void>;
  send(plan: Plan): Promise<UpstreamResponse>;
  /** The client's response: the answer, or the last member's failure as it came. */
  respond(plan: Plan, upstream: UpstreamResponse, attempts: number): Promise<GatewayResponse>;
  /**
   * The last attempt got no response: settles it and throws `error`. An error thrown by `hold`,
   * `respond` or `unanswered` carries the attempt's account to the request's error line (see
   * `failedOn`); one thrown after the attempt was settled should say so (`settledBefore`).
   */
  unanswered(plan: Plan, error: unknown, attempts: number): Promise<never>;
}

/** What routing keeps across requests. */
export interface Routing {
  readonly breaker: CircuitBreaker;
  /** In [0, 1), as `Math.random`. */
  readonly random: () => number;
  readonly logger: Logger;
}

type Failure<Plan> =
  | { readonly kind: 'response'; readonly plan: Plan; readonly upstream: UpstreamResponse }
  | { readonly kind: 'no-response'; readonly plan: Plan; readonly error: unknown };

/** Errors that are one member's, not the request's: the next member may still serve it. */
const MEMBER_ERRORS: ReadonlySet<string> = new Set(['provider_not_configured', 'unpriced_model', 'unpriced_tier', 'model_not_served']);

/** Whether `error` is one member's alone (no credential, no price or no name for the model), which another member may not have. */
export function isMemberError(error: unknown): error is GatewayError {
  return error instanceof GatewayError && MEMBER_ERRORS.has(error.code);
}

/**
 * Tries a route's members in {@link attemptOrder}, passing by those whose circuit is open (unless
 * all are), until one answers. An attempt fails over, before anything reaches the client, when
 * its member cannot be reached or does not answer within the first-byte timeout, or answers 429,
 * a 5xx, or a status the member lists in `failoverOn`; not when the gateway's own time for the
 * request ran out (`GatewayTimeLimitError`), which ends it. The failed attempt's body is discarded and
 * what it held handed back; the request is settled by the attempt that answered. The last
 * member's failure goes to the client as it came (a response in the provider's own shape, or the
 * gateway's 502/504).
 *
 * ```
 * plan(member) ──other member's error──▶ next member
 *     │
 *     ├─ letGo(previous failure), discard its body
 *     ▼
 * hold (reserve) ──refused──▶ 402 / 429, the loop ends
 *     │
 * send ──answer──▶ respond(answer)
 *     │
 *     └─ no answer, 429, 5xx, failoverOn ──▶ upstream_attempt_failed, next member
 * ```
 */
export async function runAttempts<Plan extends Planned>(route: string, candidates: readonly Candidate[], steps: AttemptSteps<Plan>, routing: Routing): Promise<GatewayResponse> {
  const { breaker, logger } = routing;
  const order = tryable(attemptOrder(candidates, routing.random), breaker);
  let failure: Failure<Plan> | undefined;
  let passedBy: GatewayError | undefined;
  let attempts = 0;
  for (const candidate of order) {
    let plan: Plan;
    try {
      plan = await steps.plan(candidate, attempts + 1);
    } catch (error) {
      if (!isMemberError(error)) {
        // The request's own error, found only now: the failure before it stays the answer.
        if (failure) break;
        throw error;
      }
      logger.info('upstream_attempt_skipped', { route, ...accountLogFields(candidate.account), reason: error.code });
      passedBy ??= error;
      continue;
    }
    if (failure) {
      await steps.letGo(failure.plan);
      if (failure.kind === 'response') void failure.upstream.discard();
      failure = undefined;
    }
    attempts++;
    try {
      await steps.hold(plan);
    } catch (error) {
      throw failedOn(error, candidate.account);
    }
    const account = accountLogFields(candidate.account);
    const circuit = circuitOf(candidate);
    breaker.starting(circuit);
    let upstream: UpstreamResponse;
    try {
      upstream = await steps.send(plan);
    } catch (error) {
      logger.error('upstream_attempt_failed', { route, ...account, attempt: attempts, error: error instanceof GatewayError ? error.code : 'internal_error' });
      // The gateway's own time ran out, not the member: no circuit counts it, and no other member
      // has time left to answer (each would fail at once, and count against its circuit).
      if (outOfTime(error)) return steps.unanswered(plan, error, attempts);
      breaker.failed(circuit, account);
      failure = { kind: 'no-response', plan, error };
      continue;
    }
    if (accountFailed(upstream.status)) breaker.failed(circuit, account);
    else breaker.succeeded(circuit, account);
    if (!failsOver(upstream.status, candidate.member)) {
      try {
        return await steps.respond(plan, upstream, attempts);
      } catch (error) {
        throw failedOn(error, candidate.account);
      }
    }
    logger.error('upstream_attempt_failed', { route, ...account, attempt: attempts, status: upstream.status });
    failure = { kind: 'response', plan, upstream };
  }
  if (failure) {
    // The last member's failure is the request's: an error in answering it names that member's account.
    const last = failure;
    try {
      return await (last.kind === 'response' ? steps.respond(last.plan, last.upstream, attempts) : steps.unanswered(last.plan, last.error, attempts));
    } catch (error) {
      throw failedOn(error, last.plan.candidate.account);
    }
  }
  throw passedBy ?? new GatewayError('unsupported_endpoint', `Route "${route}" has no provider for this request.`);
}

/**
 * The members whose circuit lets them be tried; every member, in the usual order, when none does
 * (a request still goes somewhere). The order itself when all may be tried, as a lone member
 * always is: no copy on the common path.
 */
function tryable(ordered: readonly Candidate[], breaker: CircuitBreaker): readonly Candidate[] {
  if (ordered.length <= 1) return ordered;
  let available: Candidate[] | undefined;
  for (let index = 0; index < ordered.length; index++) {
    const candidate = ordered[index] as Candidate;
    if (breaker.available(circuitOf(candidate))) available?.push(candidate);
    else available ??= ordered.slice(0, index);
  }
  if (available === undefined) return ordered;
  return available.length > 0 ? available : ordered;
}

/** Whether an attempt was stopped by the gateway's own time limit for the request (a Lambda invocation near its end). */
function outOfTime(error: unknown): boolean {
  return error instanceof GatewayTimeLimitError || (error instanceof Error && error.cause instanceof GatewayTimeLimitError);
}

/** Statuses that send a request on to the next member: 429, any 5xx, and those the member adds. */
export function failsOver(status: number, member: GroupMember): boolean {
  return accountFailed(status) || member.failoverOn.has(status);
}

/**
 * Statuses that count against an account's circuit. A member's own `failoverOn` statuses (a 404
 * for a model one account lacks) say nothing about the account's health, so they do not.
 */
function accountFailed(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * The circuit an attempt counts towards. A project's own account is named within its project only:
 * one project's failing credential must not take another project's account, or the operator's
 * account of the same name, out of rotation.
 */
function circuitOf({ account }: Candidate): string {
  return account.project === undefined ? account.name : `${account.project}/${account.name}`;
}
