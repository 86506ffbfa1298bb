/**
 * UTC calendar periods a spend counter belongs to. Weeks start on Monday 00:00 UTC (ISO 8601)
 * and are named by that Monday's date, so a week label sorts and reads like a day.
 */
export type PeriodKind = 'day' | 'week' | 'month' | 'lifetime';

export const PERIOD_KINDS: readonly PeriodKind[] = ['day', 'week', 'month', 'lifetime'];

export function periodLabel(kind: PeriodKind, at: Date): string {
  const labels = labelsOfDay(at);
  switch (kind) {
    case 'day':
      return labels[0];
    case 'week':
      return labels[1];
    case 'month':
      return labels[2];
    case 'lifetime':
      return labels[3];
  }
}

/** In {@link PERIOD_KINDS} order. The array is shared: do not change it. */
export function periodLabels(at: Date): readonly string[] {
  return labelsOfDay(at);
}

const DAY_MS = 86_400_000;
// Every request of a UTC day has the same labels: remember the last day's, instead of formatting
// dates several times per request.
let lastDay = Number.NaN;
let lastLabels: readonly [string, string, string, string] = ['', '', '', ''];

function labelsOfDay(at: Date): readonly [string, string, string, string] {
  const day = Math.floor(at.getTime() / DAY_MS);
  if (day !== lastDay) {
    const iso = at.toISOString();
    lastLabels = Object.freeze([`day:${iso.slice(0, 10)}`, `week:${isoDate(weekStart(at))}`, `month:${iso.slice(0, 7)}`, 'lifetime'] as const);
    lastDay = day;
  }
  return lastLabels;
}

export function weekStart(at: Date): Date {
  const daysSinceMonday = (at.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() - daysSinceMonday));
}

function isoDate(at: Date): string {
  return at.toISOString().slice(0, 10);
}
