import { GatewayError } from './errors';
import { FORMATS, PROVIDERS } from '../providers';
import type { Operation, WireFormat } from '../formats/types';
import type { ProviderAdapter } from '../providers/types';

/** A request's destination, parsed once and passed down instead of re-splitting the path. */
export interface ParsedRoute {
  readonly route: string;
  readonly provider: ProviderAdapter<unknown>;
  readonly format: WireFormat;
  /** The path after `/proxy/<route>`, always starting with `/`, without the query. */
  readonly providerPath: string;
  /** The query string including its `?`, or empty. Forwarded as the client sent it. */
  readonly query: string;
  readonly operation: Operation;
}

const ROUTES: ReadonlyMap<string, ProviderAdapter<unknown>> = buildRouteTable();

export const ROUTE_NAMES: readonly string[] = [...ROUTES.keys()];

const PREFIX = '/proxy/';

/** The wire format of the route a URL names, so an error found before the route parses still speaks its API. */
export function formatOfUrl(url: string): WireFormat | undefined {
  if (!url.startsWith(PREFIX)) return undefined;
  const provider = ROUTES.get(url.slice(PREFIX.length).split(/[/?]/, 1)[0] ?? '');
  return provider && FORMATS[provider.format];
}

/** Returns undefined for paths outside `/proxy/`; throws GatewayError for bad ones inside it. */
export function parseRoute(method: string, url: string): ParsedRoute | undefined {
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const query = queryAt === -1 ? '' : url.slice(queryAt);
  if (!path.startsWith(PREFIX)) return undefined;

  const slash = path.indexOf('/', PREFIX.length);
  const route = slash === -1 ? path.slice(PREFIX.length) : path.slice(PREFIX.length, slash);
  const providerPath = slash === -1 ? '/' : path.slice(slash);
  const provider = ROUTES.get(route);
  if (!provider) {
    throw new GatewayError('not_found', `Unknown route "${route}". Routes: ${ROUTE_NAMES.join(', ')} (as /proxy/<route>/...).`);
  }
  assertSafePath(providerPath);

  const format = FORMATS[provider.format];
  const operation = format.classify(method, providerPath);
  if (!operation) throw unsupportedEndpoint(method, providerPath, route, format);
  provider.checkQuery?.(query);
  return { route, provider, format, providerPath, query, operation };
}

/** The 404 for anything off a route's allow-list, naming what the route does forward. */
function unsupportedEndpoint(method: string, providerPath: string, route: string, format: WireFormat): GatewayError {
  const { metered, free } = format.endpoints;
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

function buildRouteTable(): Map<string, ProviderAdapter<unknown>> {
  const table = new Map<string, ProviderAdapter<unknown>>();
  for (const provider of Object.values(PROVIDERS)) {
    for (const route of provider.routes) {
      const taken = table.get(route);
      if (taken) throw new Error(`route "${route}" is claimed by both ${taken.id} and ${provider.id}`);
      table.set(route, provider);
    }
  }
  return table;
}
