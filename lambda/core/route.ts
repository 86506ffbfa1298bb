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
  if (!operation) {
    throw new GatewayError(
      'unsupported_endpoint',
      `${method} ${providerPath} is not an endpoint tollgate can meter on route "${route}". Metered endpoints: ${format.meteredEndpoints.join(', ')}.`,
    );
  }
  return { route, provider, format, providerPath, query, operation };
}

/**
 * The upstream host is fixed by configuration, but the path is appended to the provider's base
 * path, so dot segments and encoded separators could still walk out of it.
 */
function assertSafePath(path: string): void {
  const segments = path.split('/');
  const bad = segments.some((segment) => segment === '.' || segment === '..' || isUnsafeSegment(segment));
  if (bad || path.includes('//')) {
    throw new GatewayError('invalid_request', 'The request path contains dot segments or encoded separators, which tollgate does not forward.');
  }
}

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
