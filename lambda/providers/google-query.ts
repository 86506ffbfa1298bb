import { GatewayError } from '../core/errors';

/**
 * Query parameters a caller may send to Vertex. Google reads system parameters from the query as
 * well as from headers: `$userProject` would bill another project, `$ct` override the content
 * type, `fields` ask for a partial response without the usage counts metering prices. Names are
 * compared decoded (`%24userProject` is `$userProject` to Google), and anything not listed is
 * refused rather than forwarded. `key` is the API-key parameter some clients send the gateway key
 * in; it is the gateway's to strip, not a reason to refuse the call.
 */
const QUERY_PARAMETERS: ReadonlySet<string> = new Set([
  'alt', '$alt', 'prettyPrint', '$prettyPrint', '$.xgafv', 'key', '$key',
  // publishers.models.list and .get
  'pageSize', 'pageToken', 'filter', 'orderBy', 'view', 'listAllVersions', 'languageCode',
]);

/** Throws GatewayError (400) for a query naming a parameter tollgate does not forward to Google. */
export function checkGoogleQuery(query: string): void {
  checkQueryNames(query, QUERY_PARAMETERS, 'Vertex');
}

/** Throws GatewayError (400) unless every parameter of `query` (`?` included, or empty) is one of `allowed`, compared decoded. */
export function checkQueryNames(query: string, allowed: ReadonlySet<string>, upstream: string): void {
  if (query === '' || query === '?') return;
  for (const pair of query.slice(1).split('&')) {
    if (pair === '') continue;
    const raw = pair.split('=', 1)[0] ?? '';
    let name: string;
    try {
      name = decodeURIComponent(raw.replaceAll('+', ' '));
    } catch {
      throw new GatewayError('invalid_request', `The query parameter "${raw}" is not valid percent-encoding.`);
    }
    if (!allowed.has(name)) {
      throw new GatewayError('invalid_request', `The query parameter "${name}" is not one tollgate forwards to ${upstream}. Allowed: ${[...allowed].join(', ')}.`);
    }
  }
}
