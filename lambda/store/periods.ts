/**
 * UTC calendar periods a spend counter belongs to. Weeks start on Monday 00:00 UTC (ISO 8601)
 * and are named by that Monday's date, so a week label sorts and reads like a day.
 */
export type PeriodKind = 'day' | 'week' | 'month' | 'lifetime';

export const PERIOD_KINDS: readonly PeriodKind[] = ['day', 'week', 'month', 'lifetime'];

export function periodLabel(kind: PeriodKind, at: Date): string {
  switch (kind) {
    case 'day':
      return `day:${isoDate(at)}`;
    case 'week':
      return `week:${isoDate(weekStart(at))}`;
    case 'month':
      return `month:${at.toISOString().slice(0, 7)}`;
    case 'lifetime':
      return 'lifetime';
  }
}

export function periodLabels(at: Date): string[] {
  return PERIOD_KINDS.map((kind) => periodLabel(kind, at));
}

export function weekStart(at: Date): Date {
  const daysSinceMonday = (at.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() - daysSinceMonday));
}

function isoDate(at: Date): string {
  return at.toISOString().slice(0, 10);
}
