import { resetsAt } from '../limits/refusal';
import { formatUsd } from '../pricing/money';
import { PERIOD_KINDS, periodLabel, type PeriodKind } from '../store/periods';
import type { Limits, Scope, ScopeKind, SpendCounter, Store } from '../store/port';
import { nonEmpty, parseCommandArgs } from './args';
import { CliFailure, now, UsageError, withStore, type CliIo } from './io';
import { CAP_FIELDS } from './limits';
import { printJson, printTable } from './output';

/** The scopes a report can be asked for: those that carry caps. */
type CappedScope = Scope & { readonly kind: 'key' | 'project' | 'user' };

/**
 * A stored scope, or `managed:<project>`: a project's settled spend on the gateway's own
 * credentials, its total less its `byok:<project>/<account>` scopes (both moved by the same writes).
 */
export interface ReportScope {
  readonly kind: ScopeKind | 'managed';
  readonly id: string;
}

type ReportCounter = Omit<SpendCounter, 'scope'> & { readonly scope: ReportScope };

/**
 * One counter, or one cap with nothing spent against it yet. `--json` prints these as they are:
 * `nanos`/`usd` are settled spend, `reserved*` is held by requests in flight.
 */
export interface SpendRow {
  readonly scope: ReportScope;
  /** `day:2026-11-27`, `week:2026-11-23` (its Monday), `month:2026-11` or `lifetime`. */
  readonly period: string;
  readonly kind: PeriodKind;
  readonly nanos: number;
  readonly usd: string;
  readonly reservedNanos: number;
  readonly reservedUsd: string;
  readonly requests: number;
  /** The scope's cap for this kind of period; only on the current period, the one it applies to. */
  readonly capNanos: number | null;
  readonly capUsd: string | null;
  /** (settled + reserved) / cap, in percent, rounded down to 0.1: what a strict cap compares. */
  readonly usedPercent: number | null;
  /** When the current period ends (UTC); null for lifetime and for past periods. */
  readonly resetsAt: string | null;
}

/** The scopes a report covers, each with its caps. */
interface ScopeLimits {
  readonly scope: ReportScope;
  readonly limits: Limits | undefined;
}

export async function spendCommand(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'spend';
  const { values } = parseCommandArgs(command, args, {
    key: { type: 'string' },
    project: { type: 'string' },
    user: { type: 'string' },
    period: { type: 'string' },
    history: { type: 'boolean' },
  });
  const selected = (['key', 'project', 'user'] as const)
    .map((kind) => ({ kind, id: nonEmpty(values[kind], `--${kind}`, command) }))
    .filter((scope): scope is CappedScope => scope.id !== undefined);
  if (selected.length > 1) throw new UsageError('give at most one of --key, --project and --user', command);
  const period = values.period;
  if (period !== undefined && !isPeriodKind(period)) throw new UsageError(`--period must be one of ${PERIOD_KINDS.join(', ')}`, command);
  const kinds = period === undefined ? PERIOD_KINDS : [period];

  const at = now(io);
  const { scopes, counters } = withManagedShares(await withStore(io, (store) => gather(store, selected[0])));
  const rows = scopes.flatMap((entry) => {
    const own = counters.filter((counter) => sameScope(counter.scope, entry.scope));
    return values.history ? historyRows(entry, own, kinds, at) : currentRows(entry, own, kinds, at);
  });

  if (values.json) {
    printJson(io.stdout, rows);
    return 0;
  }
  if (rows.length === 0) {
    io.stdout.write(values.history ? 'No spend recorded.\n' : 'No spend recorded and no caps set.\n');
    return 0;
  }
  printTable(
    io.stdout,
    [
      { header: 'SCOPE' },
      { header: 'PERIOD' },
      { header: 'SPENT', align: 'right' },
      { header: 'RESERVED', align: 'right' },
      { header: 'CAP', align: 'right' },
      { header: 'USED', align: 'right' },
      { header: 'REQUESTS', align: 'right' },
      { header: 'RESETS' },
    ],
    rows.map((row) => [
      `${row.scope.kind}:${row.scope.id}`,
      row.period,
      `$${row.usd}`,
      `$${row.reservedUsd}`,
      row.capUsd === null ? '-' : `$${row.capUsd}`,
      row.usedPercent === null ? '-' : `${row.usedPercent.toFixed(1)}%`,
      String(row.requests),
      row.resetsAt ?? (row.kind === 'lifetime' ? 'never' : '-'),
    ]),
  );
  return 0;
}

/**
 * The scopes to report and their counters. `--key` covers the key and the user and project whose
 * caps also apply to its requests; `--project` the project and, per account, what its keys spent
 * on the gateway's credentials (`managed`) and on the project's own (`byok`); `--user` that one
 * scope; nothing, every scope with a cap or any spend.
 */
async function gather(store: Store, selected: CappedScope | undefined): Promise<{ scopes: ScopeLimits[]; counters: ReportCounter[] }> {
  if (selected === undefined) {
    const [projects, users, keys, counters] = await Promise.all([store.listProjects(), store.listUsers(), store.listKeys(), store.getSpend()]);
    const capped: ScopeLimits[] = [
      ...projects.map((record) => ({ scope: { kind: 'project' as const, id: record.name }, limits: record.limits })),
      ...users.map((record) => ({ scope: { kind: 'user' as const, id: record.name }, limits: record.limits })),
      ...keys.map((record) => ({ scope: { kind: 'key' as const, id: record.id }, limits: record.limits })),
    ].filter((entry) => entry.limits !== undefined);
    const spent = counters.map((counter) => ({ scope: counter.scope, limits: undefined }));
    return { scopes: uniqueScopes([...capped, ...spent]), counters };
  }

  let scopes: { readonly scope: Scope; readonly limits: Limits | undefined }[];
  switch (selected.kind) {
    case 'key': {
      const key = await store.getKey(selected.id);
      if (!key) throw new CliFailure(`no key with id "${selected.id}" (see "tollgate keys list")`);
      const [project, user] = await Promise.all([store.getProject(key.project), key.user === undefined ? undefined : store.getUser(key.user)]);
      scopes = [
        { scope: { kind: 'project', id: key.project }, limits: project?.limits },
        ...(key.user !== undefined ? [{ scope: { kind: 'user' as const, id: key.user }, limits: user?.limits }] : []),
        { scope: { kind: 'key', id: key.id }, limits: key.limits },
      ];
      break;
    }
    case 'project': {
      const [project, own, byok] = await Promise.all([store.getProject(selected.id), store.getSpend(selected), store.getSpend({ kind: 'byok' })]);
      if (!project && own.length === 0) throw new CliFailure(`no project named "${selected.id}" (see "tollgate projects list")`);
      const billed = byok.filter((counter) => projectOf(counter.scope) === selected.id);
      const accounts = uniqueScopes(billed.map((counter) => ({ scope: counter.scope, limits: undefined })));
      return { scopes: [{ scope: selected, limits: project?.limits }, ...accounts], counters: [...own, ...billed] };
    }
    case 'user': {
      const user = await store.getUser(selected.id);
      scopes = [{ scope: selected, limits: user?.limits }];
      if (!user && (await store.getSpend(selected)).length === 0) throw new CliFailure(`no user named "${selected.id}" (see "tollgate users list")`);
      break;
    }
  }
  const counters = (await Promise.all(scopes.map(({ scope }) => store.getSpend({ kind: scope.kind, id: scope.id })))).flat();
  return { scopes, counters };
}

/**
 * Adds `managed:<project>` beside every project the report shows with spend on its own accounts:
 * per period, the project's settled spend and requests less those of its `byok` scopes. Only
 * settled spend: what requests in flight hold is not known per account until they settle.
 */
function withManagedShares(report: { scopes: ScopeLimits[]; counters: ReportCounter[] }): { scopes: ScopeLimits[]; counters: ReportCounter[] } {
  const { scopes, counters } = report;
  const byok = counters.filter((counter) => counter.scope.kind === 'byok');
  const projects = new Set(byok.map((counter) => projectOf(counter.scope)));
  const managed: ReportCounter[] = counters
    .filter((counter) => counter.scope.kind === 'project' && projects.has(counter.scope.id))
    .map((total) => {
      const own = byok.filter((counter) => counter.period === total.period && projectOf(counter.scope) === total.scope.id);
      return {
        scope: { kind: 'managed', id: total.scope.id },
        period: total.period,
        nanos: total.nanos - own.reduce((sum, counter) => sum + counter.nanos, 0),
        reservedNanos: 0,
        requests: total.requests - own.reduce((sum, counter) => sum + counter.requests, 0),
      };
    });
  const shares = uniqueScopes(managed.map((counter) => ({ scope: counter.scope, limits: undefined })));
  return { scopes: sortScopes([...scopes, ...shares]), counters: [...counters, ...managed] };
}

/** The project a project-level scope belongs to. `byok` ids are `<project>/<account>`, and account names hold no "/". */
function projectOf(scope: ReportScope): string {
  return scope.kind === 'byok' ? scope.id.slice(0, scope.id.lastIndexOf('/')) : scope.id;
}

/** This day, week and month, and lifetime: every one with a cap or any spend. */
function currentRows(entry: ScopeLimits, counters: readonly ReportCounter[], kinds: readonly PeriodKind[], at: Date): SpendRow[] {
  return kinds.flatMap((kind) => {
    const label = periodLabel(kind, at);
    const counter = counters.find((candidate) => candidate.period === label);
    const cap = capFor(entry.limits, kind);
    if (counter === undefined && cap === undefined) return [];
    return [row(entry.scope, label, kind, counter, cap, resetsAt(kind, at))];
  });
}

/** Every counter, newest period first; caps only on the periods they apply to now. */
function historyRows(entry: ScopeLimits, counters: readonly ReportCounter[], kinds: readonly PeriodKind[], at: Date): SpendRow[] {
  return kinds.flatMap((kind) => {
    const current = periodLabel(kind, at);
    return counters
      .filter((counter) => periodKindOf(counter.period) === kind)
      .sort((a, b) => compareText(b.period, a.period))
      .map((counter) =>
        counter.period === current
          ? row(entry.scope, counter.period, kind, counter, capFor(entry.limits, kind), resetsAt(kind, at))
          : row(entry.scope, counter.period, kind, counter, undefined, undefined),
      );
  });
}

function row(scope: ReportScope, period: string, kind: PeriodKind, counter: ReportCounter | undefined, cap: number | undefined, reset: Date | undefined): SpendRow {
  const nanos = counter?.nanos ?? 0;
  const reservedNanos = counter?.reservedNanos ?? 0;
  return {
    scope: { kind: scope.kind, id: scope.id },
    period,
    kind,
    nanos,
    usd: formatUsd(nanos),
    reservedNanos,
    reservedUsd: formatUsd(reservedNanos),
    requests: counter?.requests ?? 0,
    capNanos: cap ?? null,
    capUsd: cap === undefined ? null : formatUsd(cap),
    usedPercent: cap === undefined ? null : percent(nanos + reservedNanos, cap),
    resetsAt: reset === undefined ? null : reset.toISOString().replace('.000Z', 'Z'),
  };
}

/** Integer arithmetic (BigInt: nanos × 1000 can pass 2^53), rounded down so 99.99% never reads 100%. */
function percent(used: number, cap: number): number {
  if (cap === 0) return 100; // a zero cap admits nothing: it is used up from the start
  return Number((BigInt(used) * 1000n) / BigInt(cap)) / 10;
}

function capFor(limits: Limits | undefined, kind: PeriodKind): number | undefined {
  const field = CAP_FIELDS.find(([, period]) => period === kind)?.[0];
  return field === undefined ? undefined : limits?.[field];
}

function uniqueScopes(entries: readonly ScopeLimits[]): ScopeLimits[] {
  const seen = new Map<string, ScopeLimits>();
  // Capped entries come first, so the one with the caps is the one kept.
  for (const entry of entries) if (!seen.has(scopeKey(entry.scope))) seen.set(scopeKey(entry.scope), entry);
  return [...seen.values()];
}

/**
 * Projects, each followed by its managed share and its own accounts; then users, then keys —
 * broadest first — and by id within each.
 */
function sortScopes(entries: readonly ScopeLimits[]): ScopeLimits[] {
  const rank = (scope: ReportScope): readonly [number, string, number, string] => {
    switch (scope.kind) {
      case 'project':
        return [0, scope.id, 0, ''];
      case 'managed':
        return [0, scope.id, 1, ''];
      case 'byok':
        return [0, projectOf(scope), 2, scope.id];
      case 'user':
        return [1, '', 0, scope.id];
      case 'key':
        return [2, '', 0, scope.id];
    }
  };
  return [...entries].sort((a, b) => {
    const [x, y] = [rank(a.scope), rank(b.scope)];
    return x[0] - y[0] || compareText(x[1], y[1]) || x[2] - y[2] || compareText(x[3], y[3]);
  });
}

function scopeKey(scope: ReportScope): string {
  return `${scope.kind}\u0000${scope.id}`;
}

function sameScope(a: ReportScope, b: ReportScope): boolean {
  return a.kind === b.kind && a.id === b.id;
}

function isPeriodKind(value: string): value is PeriodKind {
  return (PERIOD_KINDS as readonly string[]).includes(value);
}

function periodKindOf(label: string): string {
  return label.split(':')[0] ?? label;
}

/** Code-unit order, not locale order: the same on every machine, and ISO dates sort by it. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
