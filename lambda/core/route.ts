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
  const bad = segments.some((segment) => segment === '.' || segment === '..' || /%2e|%2f|%5c/i.test(segment) || segment.includes('\\'));
  if (bad || path.includes('//')) {
    throw new GatewayError('invalid_request', 'The request path contains dot segments or encoded separators, which tollgate does not forward.');
  }
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
