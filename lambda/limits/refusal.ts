import { GatewayError } from '../core/errors';
import { formatUsd } from '../pricing/money';
import { weekStart } from '../store/periods';
import type { Claim } from '../store/port';

const PERIOD_NAMES: Readonly<Record<string, string>> = { day: 'daily', week: 'weekly', month: 'monthly', lifetime: 'lifetime' };

/**
 * The error a refused claim becomes, naming the scope, the cap and when it resets, e.g.
 * `project "acme" monthly limit $50.00 reached; resets 2026-12-01T00:00:00Z`.
 */
export function refusalError(claim: Claim, at: Date): GatewayError {
  const who = `${claim.scope.kind} "${claim.scope.id}"`;
  if (claim.unit === 'requests') {
    const retryAfter = 60 - at.getUTCSeconds();
    return new GatewayError('rate_limited', `${who} rate limit of ${claim.limit} requests per minute reached; retry in ${retryAfter}s.`, {
      headers: { 'retry-after': String(retryAfter) },
    });
  }
  if (claim.unit === 'inflight') {
    return new GatewayError('rate_limited', `${who} allows ${claim.limit} concurrent requests, and that many are in flight.`, {
      headers: { 'retry-after': '1' },
    });
  }
  const kind = claim.period.split(':')[0] ?? claim.period;
  const reset = resetsAt(kind, at);
  const cap = `${who} ${PERIOD_NAMES[kind] ?? kind} limit $${formatUsd(claim.limit)}`;
  const message =
    claim.rule === 'within' && claim.amount > 0
      ? `${cap} reached (this request may cost up to $${formatUsd(claim.amount)})`
      : `${cap} reached`;
  return new GatewayError('spend_limit_reached', reset ? `${message}; resets ${reset.toISOString().replace('.000Z', 'Z')}` : `${message}; it does not reset`);
}

/** The start of the next UTC period; undefined for lifetime caps. */
export function resetsAt(kind: string, at: Date): Date | undefined {
  const y = at.getUTCFullYear();
  const m = at.getUTCMonth();
  switch (kind) {
    case 'day':
      return new Date(Date.UTC(y, m, at.getUTCDate() + 1));
    case 'week':
      return new Date(weekStart(at).getTime() + 7 * 86_400_000);
    case 'month':
      return new Date(Date.UTC(y, m + 1, 1));
    default:
      return undefined;
  }
}
