import type { GatewayConfig, ProviderSettings } from '../config/config';
import type { GroupMember } from '../config/routing';
import type { Endpoints, FormatId, Operation, WireFormat } from '../formats/types';
import { bindingsOf, FORMATS, PROVIDERS } from '../providers';
import type { FormatBinding, ProviderAdapter } from '../providers/types';
import { GatewayError } from './errors';

/** An account able to serve a request, and how: the format binding that took its path. */
export interface Candidate {
  readonly account: ProviderSettings;
  readonly adapter: ProviderAdapter<unknown>;
  readonly binding: FormatBinding<unknown>;
  /** Its place in the route: priority, weight, failover statuses, model rewrites. */
  readonly member: GroupMember;
}

/** A request's destination, parsed once and passed down instead of re-splitting the path. */
export interface ParsedRoute {
  /** The route name as the caller wrote it. */
  readonly route: string;
  readonly format: WireFormat;
  /** The path after `/proxy/<route>`, always starting with `/`, without the query. */
  readonly providerPath: string;
  /** The query string including its `?`, or empty. Forwarded as the client sent it. */
  readonly query: string;
  readonly operation: Operation;
  /** Every member of the route that serves this path in `format`, in the route's order. */
  readonly candidates: readonly Candidate[];
}

/**
 * What a route name reaches: a routing group, an account, or one of the route names the
 * Pydantic AI Gateway uses (`chat`, `gemini`, `converse`…), which reach the default accounts of
 * the kinds that claim them.
 */
interface RouteTarget {
  readonly members: readonly GroupMember[];
  /** A group's common formats; undefined for a single account or alias, which serve all theirs. */
  readonly formats: readonly FormatId[] | undefined;
}

export interface Router {
  /** Returns undefined for paths outside `/proxy/`; throws GatewayError for bad ones inside it. */
  parse(method: string, url: string): ParsedRoute | undefined;
  /** The wire format of the route a URL names, so an error found before the route parses still speaks its API. */
  formatOf(method: string, url: string): WireFormat | undefined;
  /** Route names, groups first, then accounts, then aliases. */
  readonly names: readonly string[];
  /** Who a route name reaches, for `GET /proxy/models`. */
  membersOf(route: string): readonly GroupMember[] | undefined;
}

const PREFIX = '/proxy/';

/** A member with no routing of its own: an account or alias route's only member. */
export function soleMember(account: string): GroupMember {
  return { account, priority: 0, weight: 1, failoverOn: NO_STATUSES, models: [] };
}

const NO_STATUSES: ReadonlySet<number> = new Set();

export function createRouter(config: Pick<GatewayConfig, 'accounts' | 'routes'>): Router {
  const targets = buildTargets(config);
  const names = [...targets.keys()];

  function split(url: string): { route: string; providerPath: string; query: string } | undefined {
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    if (!path.startsWith(PREFIX)) return undefined;
    const slash = path.indexOf('/', PREFIX.length);
    return {
      route: slash === -1 ? path.slice(PREFIX.length) : path.slice(PREFIX.length, slash),
      providerPath: slash === -1 ? '/' : path.slice(slash),
      query: queryAt === -1 ? '' : url.slice(queryAt),
    };
  }

  function offers(target: RouteTarget, method: string, providerPath: string): { candidates: Candidate[]; operation: Operation } | undefined {
    const candidates: Candidate[] = [];
    let operation: Operation | undefined;
    let format: FormatId | undefined;
    for (const member of target.members) {
      const account = config.accounts.get(member.account);
      if (!account) continue;
      const adapter = PROVIDERS[account.kind];
      for (const binding of bindingsOf(adapter)) {
        if (target.formats && !target.formats.includes(binding.format)) continue;
        if (format !== undefined && binding.format !== format) continue;
        const classified = (binding.classify ?? FORMATS[binding.format].classify)(method, providerPath);
        if (!classified) continue;
        format ??= binding.format;
        operation ??= classified;
        candidates.push({ account, adapter, binding, member });
        break;
      }
    }
    return operation && { candidates, operation };
  }

  /** What the route forwards, for its 404: every way each member serves the route's formats. */
  function endpointsOf(target: RouteTarget): Endpoints {
    const metered = new Set<string>();
    const free = new Set<string>();
    for (const member of target.members) {
      const account = config.accounts.get(member.account);
      if (!account) continue;
      for (const binding of bindingsOf(PROVIDERS[account.kind])) {
        if (target.formats && !target.formats.includes(binding.format)) continue;
        const endpoints = binding.endpoints ?? FORMATS[binding.format].endpoints;
        for (const line of endpoints.metered) metered.add(line);
        for (const line of endpoints.free) free.add(line);
      }
    }
    return { metered: [...metered], free: [...free] };
  }

  /** The format an error on this route speaks: the one that took the path, else the first member's. */
  function primaryFormat(target: RouteTarget): WireFormat {
    const first = target.members[0];
    const account = first && config.accounts.get(first.account);
    return FORMATS[target.formats?.[0] ?? account?.format ?? 'openai'];
  }

  return {
    names,
    membersOf: (route) => targets.get(route)?.members,

    formatOf(method, url) {
      const parts = split(url);
      const target = parts && targets.get(parts.route);
      if (!parts || !target) return undefined;
      try {
        const offered = offers(target, method, parts.providerPath);
        const binding = offered?.candidates[0]?.binding;
        if (binding) return FORMATS[binding.format];
      } catch {
        // A path the format refuses to read still has a route whose API the error speaks.
      }
      return primaryFormat(target);
    },

    parse(method, url) {
      const parts = split(url);
      if (!parts) return undefined;
      const { route, providerPath, query } = parts;
      const target = targets.get(route);
      if (!target) {
        throw new GatewayError('not_found', `Unknown route "${route}". Routes: ${names.join(', ')} (as /proxy/<route>/...).`);
      }
      assertSafePath(providerPath);
      const offered = offers(target, method, providerPath);
      const first = offered?.candidates[0];
      if (!offered || !first) throw unsupportedEndpoint(method, providerPath, route, endpointsOf(target));
      for (const { binding, adapter } of offered.candidates) {
        if (binding.checkQuery) binding.checkQuery(query, providerPath);
        else adapter.checkQuery?.(query);
      }
      return { route, format: FORMATS[first.binding.format], providerPath, query, operation: offered.operation, candidates: offered.candidates };
    },
  };
}

function buildTargets(config: Pick<GatewayConfig, 'accounts' | 'routes'>): Map<string, RouteTarget> {
  const targets = new Map<string, RouteTarget>();
  // A group wins over an account of the same name, and both over a built-in alias.
  for (const [name, group] of config.routes) targets.set(name, { members: group.members, formats: group.formats });
  for (const name of config.accounts.keys()) if (!targets.has(name)) targets.set(name, { members: [soleMember(name)], formats: undefined });
  const aliases = new Map<string, string[]>();
  for (const adapter of Object.values(PROVIDERS)) {
    for (const alias of adapter.routes) {
      if (targets.has(alias)) continue;
      aliases.set(alias, [...(aliases.get(alias) ?? []), adapter.id]);
    }
  }
  // An alias reaches the kinds' default accounts that exist: an unhosted kind has one only once configured.
  for (const [alias, kinds] of aliases) {
    const present = kinds.filter((kind) => config.accounts.has(kind));
    if (present.length > 0) targets.set(alias, { members: present.map(soleMember), formats: undefined });
  }
  return targets;
}

/** The 404 for anything off a route's allow-list, naming what the route does forward. */
function unsupportedEndpoint(method: string, providerPath: string, route: string, { metered, free }: Endpoints): GatewayError {
  return new GatewayError(
    'unsupported_endpoint',
    `${method} ${providerPath} is not an endpoint tollgate forwards on route "${route}". ` +
      `Metered: ${metered.join(', ')}. Free (no model runs): ${free.join(', ')}. ` +
      'Provider object stores (files, batches, fine-tuning, stored responses and completions) are refused: ' +
      'every key shares them under the gateway’s provider credential until tollgate records who owns each object.',
  );
}

/**
 * The upstream host is fixed by configuration, but the path is appended to the provider's base
 * path, so dot segments and encoded separators could still walk out of it.
 */
function assertSafePath(path: string): void {
  // Nearly every path: no escapes, no backslash, nothing that could start a dot or empty segment.
  if (!path.includes('%') && !path.includes('\\') && !path.includes('/.') && !path.includes('//')) return;
  const segments = path.split('/');
  const bad = segments.some((segment) => segment === '.' || segment === '..' || isUnsafeSegment(segment));
  if (bad || path.includes('//')) {
    throw new GatewayError('invalid_request', 'The request path contains dot segments or encoded separators, which tollgate does not forward.');
  }
  // No client needs to encode a letter, digit or `-._~` (RFC 3986 §2.3 says not to), and every
  // check after this one compares spellings: `%63hat` must not be read as `chat` by the provider
  // after tollgate read it as something else.
  if (ENCODED_UNRESERVED.test(path)) {
    throw new GatewayError('invalid_request', 'The request path percent-encodes a letter, digit or one of "-._~"; send them as they are.');
  }
}

const ENCODED_UNRESERVED = /%(?:[46][1-9A-Fa-f]|[57][0-9Aa]|3[0-9]|2[Dd]|2[Ee]|5[Ff]|7[Ee])/;

/**
 * An encoded slash may stand inside an id (a Bedrock model ARN is one segment:
 * `arn:aws:bedrock:…:inference-profile%2Fus.anthropic.…`), but only where an upstream that
 * decodes it would still see no dot segment and no empty one. Backslashes are never allowed.
 */
function isUnsafeSegment(segment: string): boolean {
  if (segment.includes('\\') || /%5c/i.test(segment)) return true;
  if (!segment.includes('%')) return false;
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    return /%2e|%2f/i.test(segment);
  }
  const parts = decoded.split('/');
  return parts.some((part) => part === '.' || part === '..' || (parts.length > 1 && part === ''));
}
