import { queryAllowList } from './query-allow-list';

/**
 * Query parameters a caller may send to Vertex. Google reads system parameters from the query as
 * well as from headers: `$userProject` would bill another project, `$ct` override the content
 * type, `fields` ask for a partial response without the usage counts metering prices. Names are
 * compared decoded (`%24userProject` is `$userProject` to Google), and anything not listed is
 * refused rather than forwarded. `key` is the API-key parameter some clients send the gateway key
 * in; it is the gateway's to strip, not a reason to refuse the call.
 */
const QUERY_PARAMETERS: readonly string[] = [
  'alt', '$alt', 'prettyPrint', '$prettyPrint', '$.xgafv', 'key', '$key',
  // publishers.models.list and .get
  'pageSize', 'pageToken', 'filter', 'orderBy', 'view', 'listAllVersions', 'languageCode',
];

/** Throws GatewayError (400) for a query naming a parameter tollgate does not forward to Google. */
export const checkGoogleQuery: (query: string) => void = queryAllowList(QUERY_PARAMETERS, 'Vertex');
