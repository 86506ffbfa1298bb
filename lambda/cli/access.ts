/** `--routes` and `--models`: the allow-lists keys and projects carry (see `limits/access.ts`). */
import type { ParseArgsConfig } from 'node:util';
import { normalAccess } from '../store/access-lists';
import type { AccessLists, Patch } from '../store/port';
import { UsageError } from './io';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Comma-separated, and repeatable: `--models 'gpt-5*,claude-*'` or `--models gpt-5* --models claude-*`. */
export const ACCESS_OPTIONS = {
  routes: { type: 'string', multiple: true },
  models: { type: 'string', multiple: true },
} as const satisfies Options;

/**
 * Flags, not a magic value: `--models none` would read as "no model allowed", the opposite of what
 * an absent list means.
 */
export const CLEAR_ACCESS_OPTIONS = {
  'clear-routes': { type: 'boolean' },
  'clear-models': { type: 'boolean' },
} as const satisfies Options;

export interface AccessValues {
  readonly routes?: readonly string[] | undefined;
  readonly models?: readonly string[] | undefined;
  readonly 'clear-routes'?: boolean | undefined;
  readonly 'clear-models'?: boolean | undefined;
}

/** A new list for each of `routes` and `models`, `null` to remove it, absent to leave it. */
export type AccessChanges = Patch<AccessLists>;

// Route names are lower-case letters, digits and "-" (config/routing.ts); a pattern adds the wildcards.
const ROUTE_PATTERN = /^[a-z0-9*?-]+$/;
// Model ids hold letters, digits and `-._:/@`, among others; whitespace and control characters none.
const MODEL_PATTERN = /^[^\s\p{Cc},]+$/u;

export function parseAccess(values: AccessValues, command: string): AccessChanges {
  const routes = listOption(values.routes, values['clear-routes'], 'routes', command, (pattern) => {
    if (!ROUTE_PATTERN.test(pattern)) {
      throw new UsageError(`--routes: "${pattern}" is not a route name or pattern (lower-case letters, digits, "-", and the wildcards "*" and "?")`, command);
    }
  });
  const models = listOption(values.models, values['clear-models'], 'models', command, (pattern) => {
    if (!MODEL_PATTERN.test(pattern)) throw new UsageError(`--models: "${pattern}" is not a model name or pattern (no spaces or control characters)`, command);
  });
  return { ...(routes !== undefined && { routes }), ...(models !== undefined && { models }) };
}

function listOption(
  given: readonly string[] | undefined,
  clear: boolean | undefined,
  name: 'routes' | 'models',
  command: string,
  check: (pattern: string) => void,
): readonly string[] | null | undefined {
  if (clear === true) {
    if (given !== undefined) throw new UsageError(`--${name} and --clear-${name} contradict each other: give one`, command);
    return null;
  }
  if (given === undefined) return undefined;
  const patterns = given.flatMap((value) => value.split(',')).map((pattern) => pattern.trim());
  if (patterns.some((pattern) => pattern === '')) {
    throw new UsageError(`--${name} takes a comma-separated list of names or patterns, with none empty (to allow every one, leave it out or use --clear-${name})`, command);
  }
  patterns.forEach(check);
  return [...new Set(patterns)];
}

export function hasAccessChanges(changes: AccessChanges): boolean {
  return changes.routes !== undefined || changes.models !== undefined;
}

/** The whole lists a store patch needs (patches replace `access` as a unit), or `null` once none is left. */
export function applyAccess(current: AccessLists | undefined, changes: AccessChanges): AccessLists | null {
  const next = {
    routes: changes.routes === undefined ? current?.routes : (changes.routes ?? undefined),
    models: changes.models === undefined ? current?.models : (changes.models ?? undefined),
  };
  return normalAccess(next) ?? null;
}

/** As `--json` shows the lists: `null` is "every one" (no list). */
export interface AccessView {
  readonly routes: readonly string[] | null;
  readonly models: readonly string[] | null;
}

export function accessView(access: AccessLists | undefined): AccessView {
  return { routes: access?.routes ?? null, models: access?.models ?? null };
}

/** `routes openai,anthropic` and `models gpt-5*`, as they were given; nothing for no lists. */
export function describeAccess(access: AccessLists | undefined): string[] {
  return [
    ...(access?.routes ? [`routes ${access.routes.join(',')}`] : []),
    ...(access?.models ? [`models ${access.models.join(',')}`] : []),
  ];
}

/** One list for a `show` line: its patterns, or what no list means. */
export function listText(patterns: readonly string[] | undefined): string {
  return patterns === undefined ? 'any' : patterns.join(', ');
}
