import { accountSettings, ConfigError, UNPRICED_POLICIES, type CredentialSource, type ProviderSettings } from '../config/config';
import { GatewayError } from '../core/errors';
import type { IncomingHeaders } from '../core/http-types';
import { createRouter, type Candidate, type ParsedRoute, type Router } from '../core/route';
import { authenticateKey, presentedKey } from '../keys/authenticate';
import type { PolicySource } from '../keys/policy-cache';
import type { Policy } from '../limits/plan';
import { isProviderId } from '../providers';
import type { ProjectAccountRecord, StoredCredential } from '../store/port';

/**
 * A project's stored account as the gateway uses it. A record that no longer passes the checks
 * fails the project's requests loudly rather than letting them fall back to the gateway's own,
 * operator-billed account.
 */
export function projectAccountSettings(record: ProjectAccountRecord): ProviderSettings {
  try {
    return resolveProjectAccount(record);
  } catch (error) {
    if (error instanceof ConfigError) throw new GatewayError('provider_not_configured', `The ${error.message}. Remove the account and add it again.`, { cause: error });
    throw error;
  }
}

/**
 * Checks a project account as a config file's account would be checked (kind, base URL, the
 * kind's options, the unpriced policy) and resolves it; throws ConfigError naming the field at fault.
 */
export function resolveProjectAccount(record: ProjectAccountRecord): ProviderSettings {
  const where = `project "${record.project}" provider account ${record.name}`;
  if (!isProviderId(record.kind)) throw new ConfigError(`${where}.kind: "${record.kind}" is not a provider kind this gateway knows`);
  const { baseUrl } = record;
  if (baseUrl !== undefined && !isPlainHttpUrl(baseUrl)) throw new ConfigError(`${where}.baseUrl: must be an http(s) URL without a query or fragment`);
  const { unpriced, unpricedBlockMinutes } = record;
  if (unpriced !== undefined && !(UNPRICED_POLICIES as readonly string[]).includes(unpriced)) {
    throw new ConfigError(`${where}.unpriced: must be one of ${UNPRICED_POLICIES.map((policy) => `"${policy}"`).join(', ')}, not ${JSON.stringify(unpriced)}`);
  }
  if (unpricedBlockMinutes !== undefined && !(Number.isSafeInteger(unpricedBlockMinutes) && unpricedBlockMinutes > 0)) {
    throw new ConfigError(`${where}.unpricedBlockMinutes: must be a whole number of minutes above 0`);
  }
  // The placeholder credential only satisfies the file rules; the stored one replaces it.
  const given = { baseUrl, options: record.options, credential: { secret: '-' }, unpriced, unpricedBlockMinutes };
  const settings = accountSettings(record.name, record.kind, given, where);
  return { ...settings, credential: credentialSource(record.credential), project: record.project };
}

function isPlainHttpUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const url = new URL(text);
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.search === '' && url.hash === '';
}

function credentialSource(stored: StoredCredential): CredentialSource {
  switch (stored.kind) {
    case 'sealed':
      return { kind: 'sealed', sealed: stored.sealed };
    case 'secret':
      return { kind: 'secret', secretId: stored.secretId };
  }
}

/**
 * The accounts a key's request may try, in order. For a project's keys, the project's own
 * accounts of a kind take the place of the gateway's accounts of that kind — with their place in
 * the route (priority, weight, failover statuses, model rewrites) — so a project that brought its
 * own credential is never billed on the operator's. Other kinds, and other projects' keys, are
 * left as they are. A kind the project has several accounts of gets all of them, once each.
 *
 * @example
 * // route `openai` for a key of project acme, which added `openai-acme` (kind openai):
 * projectCandidates(route.candidates, [openaiAcme]); // [{ account: openaiAcme, … }]
 */
export function projectCandidates(candidates: readonly Candidate[], accounts: readonly ProviderSettings[]): readonly Candidate[] {
  if (accounts.length === 0) return candidates;
  const tried: Candidate[] = [];
  const placed = new Set<string>();
  for (const candidate of candidates) {
    const own = candidate.account.project === undefined ? accounts.filter((account) => account.kind === candidate.account.kind) : [];
    if (own.length === 0) {
      tried.push(candidate);
      continue;
    }
    for (const account of own) {
      if (placed.has(account.name)) continue;
      placed.add(account.name);
      // Same kind, so the same adapter and the binding that already took the path.
      tried.push({ ...candidate, account, member: { ...candidate.member, account: account.name } });
    }
  }
  return tried;
}

/** The route as the key's project sees it: its own accounts in place of the gateway's (see {@link projectCandidates}). */
export function withProjectAccounts(route: ParsedRoute, policy: Policy): ParsedRoute {
  // Most keys' projects have no accounts of their own: nothing to filter, nothing allocated.
  if (policy.accounts === undefined || policy.accounts.length === 0) return route;
  const accounts = policy.accounts.filter((account) => account.project === policy.key.project);
  if (accounts.length === 0) return route;
  return { ...route, candidates: projectCandidates(route.candidates, accounts) };
}

/** Parses request URLs whose route name may be a project's own account, known only once the key is. */
export interface ProjectRouter {
  /**
   * As {@link Router.parse}, but a name no config route has may still be the presenting key's
   * project's account. Only that case needs the key, so only its answer is a promise: a config
   * route is parsed without a turn of the event loop.
   */
  parse(method: string, url: string, headers: IncomingHeaders): ParsedRoute | undefined | Promise<ParsedRoute | undefined>;
}

/**
 * A project account's name is a route for that project's keys only. Every other caller gets
 * exactly the router's answer for an unknown name (404): with no key, or a key of another project,
 * nothing tells a name some project uses from one nobody does. A key that fails to authenticate
 * gets its own error, which does not depend on the name either.
 */
export function createProjectRouter(router: Router, policies: PolicySource, clock: () => Date): ProjectRouter {
  const known = new Set(router.names);
  async function projectRoute(error: unknown, method: string, url: string, headers: IncomingHeaders): Promise<ParsedRoute | undefined> {
    const name = routeName(url);
    if (!(error instanceof GatewayError) || error.code !== 'not_found' || name === undefined || known.has(name)) throw error;
    const secret = presentedKey(headers);
    if (secret === undefined) throw error;
    const policy = await authenticateKey(secret, policies, clock());
    const account = policy.accounts?.find((candidate) => candidate.name === name && candidate.project === policy.key.project);
    if (!account) throw error;
    return createRouter({ accounts: new Map([[account.name, account]]), routes: new Map() }).parse(method, url);
  }
  return {
    parse(method, url, headers) {
      try {
        return router.parse(method, url);
      } catch (error) {
        return projectRoute(error, method, url, headers);
      }
    },
  };
}

function routeName(url: string): string | undefined {
  const match = /^\/proxy\/([^/?]+)/.exec(url);
  return match?.[1];
}
