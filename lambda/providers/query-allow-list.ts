import { GatewayError } from '../core/errors';

const MAX_ECHOED = 40;

/**
 * A check for `ProviderAdapter.checkQuery` that lets through only the named parameters. Names are
 * compared decoded, as the provider reads them (`%24key` is `$key`), so no spelling slips by; what
 * is not listed is refused rather than forwarded, since a provider may read a credential, a billed
 * project or a partial-response mask from its query.
 *
 * @example
 * const checkQuery = queryAllowList(['api-version'], 'Azure OpenAI');
 * checkQuery('?api-version=2024-10-21'); // passes
 * checkQuery('?api-key=…');              // throws a 400 naming what is allowed
 */
export function queryAllowList(allowed: readonly string[], service: string, hint = ''): (query: string) => void {
  const names: ReadonlySet<string> = new Set(allowed);
  return (query) => {
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
      if (!names.has(name)) {
        const listed = allowed.length === 0 ? 'none' : allowed.join(', ');
        // A name long enough to be a key (gateway keys are 60 characters) is not echoed back.
        const named = name.length <= MAX_ECHOED ? `"${name}"` : `(${name.length} characters)`;
        throw new GatewayError('invalid_request', `The query parameter ${named} is not one tollgate forwards to ${service}. Allowed: ${listed}.${hint}`);
      }
    }
  };
}
