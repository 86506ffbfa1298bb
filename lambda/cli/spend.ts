import { formatUsd } from '../pricing/money';
import { PERIOD_KINDS, type PeriodKind } from '../store/periods';
import type { ScopeKind, SpendCounter, SpendQuery } from '../store/port';
import { nonEmpty, parseCommandArgs } from './args';
import { UsageError, withStore, type CliIo } from './io';
import { printJson, printTable } from './output';

const SCOPE_ORDER: readonly ScopeKind[] = ['project', 'user', 'key'];

export async function spendCommand(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'spend';
  const { values } = parseCommandArgs(command, args, {
    key: { type: 'string' },
    project: { type: 'string' },
    user: { type: 'string' },
    period: { type: 'string' },
  });
  const scopes = (['key', 'project', 'user'] as const)
    .map((kind) => ({ kind, id: nonEmpty(values[kind], `--${kind}`, command) }))
    .filter((scope): scope is { kind: ScopeKind; id: string } => scope.id !== undefined);
  if (scopes.length > 1) throw new UsageError('give at most one of --key, --project and --user', command);
  const period = values.period;
  if (period !== undefined && !isPeriodKind(period)) throw new UsageError(`--period must be one of ${PERIOD_KINDS.join(', ')}`, command);

  const query: SpendQuery = scopes[0] ?? {};
  const counters = await withStore(io, (store) => store.getSpend(query));
  const shown = sortCounters(counters.filter((counter) => period === undefined || periodKind(counter.period) === period));

  if (values.json) {
    printJson(
      io.stdout,
      shown.map((counter) => ({
        scope: { kind: counter.scope.kind, id: counter.scope.id },
        period: counter.period,
        nanos: counter.nanos,
        usd: formatUsd(counter.nanos),
        requests: counter.requests,
      })),
    );
    return 0;
  }
  if (shown.length === 0) {
    io.stdout.write('No spend recorded.\n');
    return 0;
  }
  printTable(
    io.stdout,
    [{ header: 'SCOPE' }, { header: 'PERIOD' }, { header: 'USD', align: 'right' }, { header: 'REQUESTS', align: 'right' }],
    shown.map((counter) => [`${counter.scope.kind}:${counter.scope.id}`, counter.period, `$${formatUsd(counter.nanos)}`, String(counter.requests)]),
  );
  return 0;
}

function isPeriodKind(value: string): value is PeriodKind {
  return (PERIOD_KINDS as readonly string[]).includes(value);
}

function periodKind(label: string): string {
  return label.split(':')[0] ?? label;
}

/**
 * Adapters order counters differently (DynamoDB by key, SQLite by text, where `lifetime` falls
 * between `day` and `month`), so order here: narrowest scope kind last, newest period first.
 */
function sortCounters(counters: readonly SpendCounter[]): SpendCounter[] {
  const rank = (kind: string) => {
    const index = (PERIOD_KINDS as readonly string[]).indexOf(kind);
    return index === -1 ? PERIOD_KINDS.length : index;
  };
  return [...counters].sort(
    (a, b) =>
      SCOPE_ORDER.indexOf(a.scope.kind) - SCOPE_ORDER.indexOf(b.scope.kind) ||
      compareText(a.scope.id, b.scope.id) ||
      rank(periodKind(a.period)) - rank(periodKind(b.period)) ||
      compareText(b.period, a.period),
  );
}

/** Code-unit order, not locale order: the same on every machine, and ISO dates sort by it. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
