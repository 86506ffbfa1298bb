import { GatewayError } from '../core/errors';
import type { AccessLists } from '../store/port';
import type { Policy } from './plan';

/**
 * Allow-lists: which routes and models a key may use. Both the key's project and the key itself
 * may carry lists (`AccessLists`); a request must pass both, so a key's lists can only narrow what
 * its project allows. An absent or empty list allows everything.
 *
 * ```
 * route name as the caller wrote it ──▶ project's routes? ──▶ key's routes? ──▶ … every call
 * model the request names            ──▶ project's models? ──▶ key's models? ──▶ … metered calls only
 * ```
 *
 * Both are checked before anything is read upstream or reserved, so a refusal costs nothing and
 * reaches no provider.
 */

const STAR = 0x2a; // *
const QUESTION = 0x3f; // ?

/**
 * Whether `name` matches the glob `pattern` as a whole: `*` is any run of characters (none
 * included), `?` any one character, anything else itself, case included. No escapes: route names
 * and model ids never hold `*` or `?`.
 *
 * Iterative, with one backtrack point (the last `*`): at most pattern × name steps, however the
 * stars are placed. A name is the caller's and may be megabytes long; a regular expression built
 * from the pattern could backtrack polynomially in its length.
 *
 * @example
 * globMatches('gpt-5*', 'gpt-5-mini'); // true
 * globMatches('claude-?-*', 'claude-3-haiku'); // true
 * globMatches('gpt-5*', 'GPT-5'); // false
 */
export function globMatches(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let star = -1;
  let resume = 0;
  while (n < name.length) {
    const c = p < pattern.length ? pattern.charCodeAt(p) : -1;
    if (c === STAR) {
      star = p++;
      resume = n;
    } else if (c === QUESTION) {
      p++;
      n = nextCharacter(name, n);
    } else if (c !== -1 && c === name.charCodeAt(n)) {
      p++;
      n++;
    } else if (star !== -1) {
      // Let the last star take one more character, and match the rest of the pattern again after it.
      p = star + 1;
      resume = nextCharacter(name, resume);
      n = resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern.charCodeAt(p) === STAR) p++;
  return p === pattern.length;
}

/** One character on: a surrogate pair is one character, so `?` matches an emoji whole. */
function nextCharacter(text: string, at: number): number {
  const code = text.charCodeAt(at);
  const low = text.charCodeAt(at + 1);
  return code >= 0xd800 && code <= 0xdbff && low >= 0xdc00 && low <= 0xdfff ? at + 2 : at + 1;
}

/** An absent or empty list allows every name; otherwise one of its patterns must match. */
export function listAllows(patterns: readonly string[] | undefined, name: string): boolean {
  return patterns === undefined || patterns.length === 0 || patterns.some((pattern) => globMatches(pattern, name));
}

type ListName = keyof AccessLists;

/**
 * The first holder (project, then key) whose list allows none of `names`, if any. Most keys have
 * no lists: then this reads two fields and allocates nothing.
 */
function refusingHolder(policy: Policy, list: ListName, names: readonly string[] | string): { readonly who: string; readonly patterns: readonly string[] } | undefined {
  const project = policy.project?.access?.[list];
  if (project !== undefined && !allowsAny(project, names)) return { who: `its project "${policy.key.project}"`, patterns: project };
  const key = policy.key.access?.[list];
  if (key !== undefined && !allowsAny(key, names)) return { who: 'the key', patterns: key };
  return undefined;
}

/** Whether `patterns` allow at least one of `names`. */
function allowsAny(patterns: readonly string[], names: readonly string[] | string): boolean {
  if (typeof names === 'string') return listAllows(patterns, names);
  for (const name of names) if (listAllows(patterns, name)) return true;
  return false;
}

/** The route check, for any call: the name in `/proxy/<route>/…`, as the caller wrote it. */
export function checkRouteAccess(policy: Policy, route: string): void {
  const refused = refusingHolder(policy, 'routes', route);
  if (!refused) return;
  throw new GatewayError(
    'route_not_allowed',
    `Gateway key ${policy.key.id} may not use route "${route}": ${refused.who} allows only the routes ${refused.patterns.join(', ')}.`,
  );
}

/**
 * The model check, for a metered call: the model the request names (body or path). A model that
 * the gateway prices under another name (a Bedrock ARN or inference profile) passes if either
 * name does: both name the same model.
 */
export function checkModelAccess(policy: Policy, route: string, model: { readonly model: string; readonly requestedModel?: string }): void {
  const named = model.requestedModel ?? model.model;
  const refused = refusingHolder(policy, 'models', model.requestedModel === undefined ? model.model : [model.requestedModel, model.model]);
  if (!refused) return;
  throw new GatewayError(
    'model_not_allowed',
    `Gateway key ${policy.key.id} may not use model "${shortened(named)}" on route "${route}": ${refused.who} allows only the models ${refused.patterns.join(', ')}.`,
  );
}

/** A model name is the caller's, of any length; an error message quotes enough of it to recognise. */
function shortened(name: string): string {
  return name.length <= 200 ? name : `${name.slice(0, 200)}…`;
}

/** What `GET /proxy/models` may list for this key: only routes and models it could use. */
export interface AccessFilter {
  route(name: string): boolean;
  model(name: string): boolean;
}

export function accessFilter(policy: Policy): AccessFilter {
  return {
    route: (name) => refusingHolder(policy, 'routes', name) === undefined,
    model: (name) => refusingHolder(policy, 'models', name) === undefined,
  };
}
