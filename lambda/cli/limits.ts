import type { ParseArgsConfig } from 'node:util';
import { formatUsd } from '../pricing/money';
import type { PeriodKind } from '../store/periods';
import type { LimitMode, Limits, Patch, RateLimits } from '../store/port';
import { UsageError } from './io';
import { shortTime } from './output';
import { parseUsd, UsdParseError } from './usd';

type Options = NonNullable<ParseArgsConfig['options']>;

export type CapField = keyof Limits;

/** Cap fields in the order they are shown, each with the UTC period it caps. */
export const CAP_FIELDS: readonly (readonly [CapField, PeriodKind])[] = [
  ['daily', 'day'],
  ['weekly', 'week'],
  ['monthly', 'month'],
  ['lifetime', 'lifetime'],
];

export const CAP_OPTIONS = {
  daily: { type: 'string' },
  weekly: { type: 'string' },
  monthly: { type: 'string' },
  lifetime: { type: 'string' },
} as const satisfies Options;

/** The word that clears a cap, rate limit or expiry in `set-limits`. */
export const NONE = 'none';

type CapValues = { readonly [K in CapField]?: string | undefined };

/** A changed field holds its new cap in nanos, or `null` to clear it; an absent field is left as it is. */
export type CapChanges = Patch<Limits>;

/**
 * Reads `--daily 50` and friends into nano-dollars. With `clearable`, `none` removes a cap
 * (in `set-limits`; when creating, an absent option already means no cap).
 */
export function parseCaps(values: CapValues, command: string, clearable: boolean): CapChanges {
  const changes: { -readonly [K in CapField]?: number | null } = {};
  for (const [field] of CAP_FIELDS) {
    const text = values[field];
    if (text === undefined) continue;
    changes[field] = clearable && text === NONE ? null : usdOption(text, `--${field}`, command, clearable);
  }
  return changes;
}

function usdOption(text: string, flag: string, command: string, clearable: boolean): number {
  try {
    return parseUsd(text);
  } catch (error) {
    if (!(error instanceof UsdParseError)) throw error;
    throw new UsageError(`${flag}: ${error.message}${clearable ? `, or "${NONE}" to remove the cap` : ''}`, command);
  }
}

export function hasChanges(changes: object): boolean {
  return Object.values(changes).some((value) => value !== undefined);
}

/**
 * The whole limits object a store patch needs (patches replace `limits` as a unit): the current
 * caps with the changes applied, or `null` once no cap is left.
 */
export function applyCaps(current: Limits | undefined, changes: CapChanges): Limits | null {
  const next: { -readonly [K in CapField]?: number } = { ...current };
  for (const [field] of CAP_FIELDS) {
    const change = changes[field];
    if (change === null) delete next[field];
    else if (change !== undefined) next[field] = change;
  }
  return Object.keys(next).length === 0 ? null : next;
}

/** The same read-modify-write for a key's rate limits. */
export function applyRateLimits(current: RateLimits | undefined, changes: Patch<RateLimits>): RateLimits | null {
  const next: { -readonly [K in keyof RateLimits]?: number } = { ...current };
  for (const field of ['requestsPerMinute', 'concurrent'] as const) {
    const change = changes[field];
    if (change === null) delete next[field];
    else if (change !== undefined) next[field] = change;
  }
  return Object.keys(next).length === 0 ? null : next;
}

export function parseMode(value: string | undefined, command: string): LimitMode | undefined {
  if (value === undefined || value === 'strict' || value === 'soft') return value;
  throw new UsageError(`--mode must be "strict" or "soft", not "${value}"`, command);
}

/** A positive whole number (`--rpm`, `--concurrent`); `none` clears it where `clearable`. */
export function parseCount(value: string | undefined, flag: string, command: string, clearable: boolean): number | null | undefined {
  if (value === undefined) return undefined;
  if (clearable && value === NONE) return null;
  const count = /^\d+$/.test(value) ? Number(value) : NaN;
  if (Number.isSafeInteger(count) && count >= 1) return count;
  throw new UsageError(`${flag} must be a whole number of at least 1${clearable ? ` or "${NONE}"` : ''}, not "${value}"`, command);
}

const DURATION_UNITS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * `--expires`: a duration from now (`90m`, `12h`, `30d`, `2w`), a date (00:00 UTC that day) or an
 * ISO time with its zone (`2026-12-31T18:00:00Z`, `…+02:00`); a time without a zone is refused
 * rather than read in whatever zone the operator's machine is in. Returns the ISO instant.
 */
export function parseExpiry(value: string | undefined, at: Date, command: string, clearable: boolean): string | null | undefined {
  if (value === undefined) return undefined;
  if (clearable && value === NONE) return null;
  const expires = expiryTime(value, at);
  if (expires === undefined) {
    throw new UsageError(
      `--expires must be a duration from now (90m, 12h, 30d, 2w), a date (2026-12-31, meaning 00:00 UTC) or a time with its zone ` +
        `(2026-12-31T18:00:00Z)${clearable ? `, or "${NONE}"` : ''}; not "${value}"`,
      command,
    );
  }
  if (expires.getTime() <= at.getTime()) {
    throw new UsageError(`--expires ${value} is not in the future (to stop a key now, use "tollgate keys disable" or "keys revoke")`, command);
  }
  return expires.toISOString();
}

function expiryTime(value: string, at: Date): Date | undefined {
  const duration = /^(\d+)([mhdw])$/.exec(value);
  if (duration) {
    const amount = Number(duration[1]);
    const time = at.getTime() + amount * (DURATION_UNITS[duration[2] ?? ''] ?? NaN);
    return amount > 0 ? validDate(time) : undefined;
  }
  const date = DATE.exec(value);
  if (date) return calendarDate(date[1], date[2], date[3]) ? validDate(Date.parse(`${value}T00:00:00Z`)) : undefined;
  const dateTime = DATE_TIME.exec(value);
  if (!dateTime) return undefined;
  const [, year, month, day, hours, minutes, seconds, zoneHours, zoneMinutes] = dateTime;
  // Date.parse accepts 2026-02-30 (as March 2nd) and 24:00; neither is what anyone meant.
  const clockOk = Number(hours) <= 23 && Number(minutes) <= 59 && Number(seconds ?? '0') <= 59;
  const zoneOk = zoneHours === undefined || (Number(zoneHours) <= 23 && Number(zoneMinutes) <= 59);
  return calendarDate(year, month, day) && clockOk && zoneOk ? validDate(Date.parse(value)) : undefined;
}

function calendarDate(year = '', month = '', day = ''): boolean {
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  return date.getUTCFullYear() === Number(year) && date.getUTCMonth() === Number(month) - 1 && date.getUTCDate() === Number(day);
}

function validDate(time: number): Date | undefined {
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** A cap as `--json` shows it: exact nanos for programs, exact decimal USD for people. */
export interface CapView {
  readonly nanos: number;
  readonly usd: string;
}

export type LimitsView = { readonly [K in CapField]: CapView | null };

export function limitsView(limits: Limits | undefined): LimitsView {
  const cap = (nanos: number | undefined): CapView | null => (nanos === undefined ? null : { nanos, usd: formatUsd(nanos) });
  return { daily: cap(limits?.daily), weekly: cap(limits?.weekly), monthly: cap(limits?.monthly), lifetime: cap(limits?.lifetime) };
}

export function usd(nanos: number): string {
  return `$${formatUsd(nanos)}`;
}

/** `daily $5.00, monthly $50.00`, or nothing for no caps. */
export function describeCaps(limits: Limits | undefined): string[] {
  return CAP_FIELDS.flatMap(([field]) => {
    const nanos = limits?.[field];
    return nanos === undefined ? [] : [`${field} ${usd(nanos)}`];
  });
}

export function describeRateLimits(rate: RateLimits | undefined): string[] {
  return [
    ...(rate?.requestsPerMinute !== undefined ? [`${rate.requestsPerMinute} rpm`] : []),
    ...(rate?.concurrent !== undefined ? [`${rate.concurrent} concurrent`] : []),
  ];
}

export function describeExpiry(expiresAt: string | undefined): string[] {
  return expiresAt === undefined ? [] : [`expires ${shortTime(expiresAt)}`];
}
