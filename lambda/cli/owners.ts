/** What `projects` and `users` share: both are named records that carry spend caps. */
import type { Limits } from '../store/port';
import { UsageError } from './io';
import { CAP_FIELDS, usd } from './limits';

/** Running gateways cache records for `limits.keyCacheTtlMs`; an operator should know a change is not instant. */
export const SETTINGS_DELAY = 'Running gateways apply it within their record cache TTL (limits.keyCacheTtlMs, 5 s by default).';

export function nameArgument(given: string | undefined, what: 'project' | 'user', command: string): string {
  if (given === undefined) throw new UsageError(`missing ${what} name`, command);
  if (given.trim() === '') throw new UsageError(`the ${what} name must not be empty`, command);
  return given;
}

/** One table cell per cap, in DAILY, WEEKLY, MONTHLY, LIFETIME order; `-` for none. */
export function capCells(limits: Limits | undefined): string[] {
  return CAP_FIELDS.map(([field]) => {
    const nanos = limits?.[field];
    return nanos === undefined ? '-' : usd(nanos);
  });
}
