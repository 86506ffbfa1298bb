import { ConfigError } from '../../config/config-error';
import type { SecretReader } from '../../config/secrets';
import type { HeaderSetting } from './settings';

/**
 * The headers of one export request, as they are now (lower-case names). Fixed values are read
 * once, at start; `{ secret }` values on every call, through the secrets cache, so a rotated
 * token is sent within the cache's TTL. Rejects with an {@link ExportHeaderError}.
 */
export type ExportHeaders = () => Promise<Readonly<Record<string, string>>>;

/** Where header values come from. */
export interface HeaderSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads `{ secret }` values: only the AWS deployment has one. */
  readonly secrets?: SecretReader | undefined;
}

/** A header's secret could not be read: the message names the header, the secret and the field, never a value. */
export class ExportHeaderError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExportHeaderError';
  }
}

/** What no header value may hold (undici refuses it, and it could split the request). */
const NOT_IN_A_HEADER = /[\r\n\0]/;

/**
 * A destination's headers. Environment variables are read now, and a `{ secret }` value with no
 * secret reader to read it is refused now: either stops startup with a {@link ConfigError} that
 * names the header (`where` is its place in the config), never a value.
 *
 * @example
 * const headers = exportHeaders(settings.export.headers, { env: process.env, secrets }, 'tracing.export');
 * const now = await headers(); // { authorization: 'pylf_v1_us_…' }
 */
export function exportHeaders(headers: readonly HeaderSetting[], sources: HeaderSources, where: string): ExportHeaders {
  const fixed: Record<string, string> = {};
  const secret: { readonly name: string; readonly secretId: string; readonly field: string | undefined }[] = [];
  for (const header of headers) {
    const value = header.value;
    switch (value.kind) {
      case 'literal':
        fixed[header.name.toLowerCase()] = value.value;
        break;
      case 'env': {
        const text = sources.env[value.name];
        if (!text) throw new ConfigError(`${where}.headers.${header.name}: environment variable ${value.name} is not set`);
        fixed[header.name.toLowerCase()] = text;
        break;
      }
      case 'secret':
        if (!sources.secrets) {
          throw new ConfigError(
            `${where}.headers.${header.name}: {"secret": …} values are read from AWS Secrets Manager, which only the AWS deployment does; here, name an environment variable: {"env": "NAME"}`,
          );
        }
        secret.push({ name: header.name, secretId: value.secretId, field: value.field });
        break;
    }
  }
  const read = sources.secrets;
  if (secret.length === 0 || !read) {
    const all = Promise.resolve(fixed);
    return () => all;
  }
  return async () => {
    const values = await Promise.all(
      secret.map(async ({ name, secretId, field }) => {
        const from = `${where}.headers.${name} from secret ${secretId}${field === undefined ? '' : ` field "${field}"`}`;
        let text: string | undefined;
        try {
          text = await read({ secretId, field });
        } catch (error) {
          // The reader's messages name the secret, never the value.
          throw new ExportHeaderError(`${from}: ${error instanceof Error ? error.message : 'could not be read'}`, { cause: error });
        }
        if (text === undefined) throw new ExportHeaderError(`${from}: missing or empty`);
        // A token saved from a file usually ends in a newline.
        const value = text.trim();
        if (value === '' || NOT_IN_A_HEADER.test(value)) throw new ExportHeaderError(`${from}: not a usable header value (empty, or holds a line break)`);
        return [name.toLowerCase(), value] as const;
      }),
    );
    return { ...fixed, ...Object.fromEntries(values) };
  };
}
