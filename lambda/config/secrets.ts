import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CredentialSource, ProviderSettings } from './config';
import type { CredentialResolver } from './credentials';

export interface SecretsReaderOptions {
  readonly client: SecretsManagerClient;
  /** How long a secret is used before it is read again, so a rotation lands without a redeploy. @default 5 minutes */
  readonly ttlMs?: number;
  /** If a re-read fails, the last value is still used for this long after it expired. @default 15 minutes */
  readonly staleIfErrorMs?: number;
  /** Secrets held at once; the least recently read is dropped first. @default 32 */
  readonly maxSecrets?: number;
  /** Milliseconds since the epoch. @default Date.now */
  readonly clock?: () => number;
}

/** Where a value is kept in Secrets Manager: a secret's whole string, or one field of a JSON secret. */
export interface SecretSource {
  readonly secretId: string;
  readonly field?: string | undefined;
}

/**
 * Reads a {@link SecretSource}, through a cache. Undefined: the JSON secret has no such field
 * (or it is empty). Rejects with a {@link SecretCredentialError} that names the secret and the
 * field, never any part of the value.
 */
export type SecretReader = (source: SecretSource) => Promise<string | undefined>;

export type SecretsCredentialsOptions = (SecretsReaderOptions | { readonly reader: SecretReader }) & {
  /** For `{ env }` credential sources. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
};

/**
 * A secret could not be turned into a credential. Messages name the secret and the field, never
 * any part of the value.
 */
export class SecretCredentialError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretCredentialError';
  }
}

interface Entry {
  /** The secret string; shared by concurrent readers, so a cold or expired cache costs one call. */
  promise: Promise<string>;
  /** When this entry stops being served and the secret is read again. */
  expiresAt: number;
  /** The last value actually read, kept to bridge a Secrets Manager outage. */
  lastGood?: { readonly value: string; readonly readAt: number };
}

/** After a failed re-read that fell back to the last good value, how long before trying again. */
const RETRY_AFTER_FAILURE_MS = 10_000;

/**
 * Secrets Manager values through a small, bounded, time-limited cache: one GetSecretValue per
 * secret per `ttlMs`, not per use, so a rotation lands within `ttlMs` without a redeploy. One
 * reader serves provider credentials and tracing headers alike.
 *
 * @example
 * const secrets = secretsManagerReader({ client: new SecretsManagerClient({}) });
 * const token = await secrets({ secretId: 'tollgate/prod/logfire' });
 */
export function secretsManagerReader(options: SecretsReaderOptions): SecretReader {
  const ttl = options.ttlMs ?? 5 * 60_000;
  const staleIfError = options.staleIfErrorMs ?? 15 * 60_000;
  const max = options.maxSecrets ?? 32;
  const clock = options.clock ?? Date.now;
  const cache = new Map<string, Entry>();

  const fetchSecret = async (secretId: string): Promise<string> => {
    let result;
    try {
      result = await options.client.send(new GetSecretValueCommand({ SecretId: secretId }));
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new SecretCredentialError(`could not read secret ${secretId} (${reason})`, { cause: error });
    }
    if (typeof result.SecretString !== 'string') throw new SecretCredentialError(`secret ${secretId} has no string value (binary secrets are not supported)`);
    return result.SecretString;
  };

  const remember = (secretId: string, entry: Entry) => {
    cache.delete(secretId); // re-insert: Map order is our recency order
    cache.set(secretId, entry);
    while (cache.size > max) {
      const oldest = cache.keys().next().value;
      if (oldest === undefined) break;
      cache.delete(oldest);
    }
  };

  const read = (secretId: string): Promise<string> => {
    const now = clock();
    const cached = cache.get(secretId);
    if (cached && now < cached.expiresAt) {
      remember(secretId, cached);
      return cached.promise;
    }
    const entry: Entry = { promise: Promise.resolve(''), expiresAt: now + ttl, ...(cached?.lastGood && { lastGood: cached.lastGood }) };
    entry.promise = fetchSecret(secretId).then(
      (value) => {
        entry.lastGood = { value, readAt: now };
        return value;
      },
      (error: unknown) => {
        // A Secrets Manager hiccup should not take every provider down with it: serve the last
        // good value for a while, retrying every few seconds rather than on every request.
        const good = entry.lastGood;
        const at = clock();
        if (good && at - good.readAt < ttl + staleIfError) {
          entry.expiresAt = at + RETRY_AFTER_FAILURE_MS;
          return good.value;
        }
        entry.expiresAt = at; // nothing to fall back on: the next request tries again
        throw error;
      },
    );
    remember(secretId, entry);
    return entry.promise;
  };

  return async (source) => {
    const text = await read(source.secretId);
    return source.field === undefined ? nonEmpty(text, `secret ${source.secretId}`) : jsonField(text, source.secretId, source.field);
  };
}

/**
 * The AWS credential resolver: `{ secret, field? }` sources are read through
 * {@link secretsManagerReader} (given one, or made from `options`); `{ env }` sources still read
 * the environment.
 *
 * @example
 * // config: { "providers": { "openai": { "credential": { "secret": "tollgate/prod/providers", "field": "openai" } } } }
 * const credential = secretsManagerCredentials({ client: new SecretsManagerClient({}) });
 * const gateway = createGateway({ ...deps, credential });
 */
export function secretsManagerCredentials(options: SecretsCredentialsOptions): CredentialResolver {
  const env = options.env ?? process.env;
  const read = 'reader' in options ? options.reader : secretsManagerReader(options);
  return async (provider: ProviderSettings) => {
    const source: CredentialSource | undefined = provider.credential;
    if (source === undefined) return undefined;
    if (source.kind === 'env') return env[source.name] || undefined;
    if (source.kind === 'sealed') {
      throw new SecretCredentialError(
        `provider ${provider.name} has a credential sealed with a local secret key, which this deployment does not hold: add it again with "tollgate --stack <name> providers add …", which puts it in Secrets Manager`,
      );
    }
    return read(source);
  };
}

function jsonField(text: string, secretId: string, field: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not the parser's message: it can quote the text it choked on.
    throw new SecretCredentialError(`secret ${secretId} is not a JSON object, so it has no field "${field}"; store {"${field}": "<credential>"} or drop "field" from the config`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SecretCredentialError(`secret ${secretId} is not a JSON object, so it has no field "${field}"`);
  }
  const value: unknown = (parsed as Record<string, unknown>)[field];
  // An absent field is an unconfigured provider, not a broken secret: one secret can hold the
  // credentials of every provider, filled in as they are adopted.
  if (value === undefined || value === null || value === '') return undefined;
  // A service-account JSON may be stored as an object rather than as a string holding JSON.
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  if (typeof value !== 'string') throw new SecretCredentialError(`secret ${secretId} field "${field}" is not a string`);
  return nonEmpty(value, `secret ${secretId} field "${field}"`);
}

function nonEmpty(value: string, what: string): string {
  if (value.trim() === '') throw new SecretCredentialError(`${what} is empty`);
  return value;
}
