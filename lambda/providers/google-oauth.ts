import { createHash, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import type { Dispatcher } from 'undici';
import * as z from '../config/zod';
import { GatewayError } from '../core/errors';

export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** Assertions are valid for an hour, the most Google's token endpoint accepts. */
const ASSERTION_LIFETIME_SECONDS = 3600;
/** Refresh this long before expiry, so a token never expires while a request is in flight. */
const REFRESH_MARGIN_MS = 5 * 60 * 1000;
/** Every request waiting on a mint waits on this one call: a hung endpoint must fail them soon. */
const TOKEN_TIMEOUT_MS = 15_000;
/** Google's tokens live an hour: a longer `expires_in` is not believed, so a token is never cached for good. */
const MAX_TOKEN_LIFETIME_SECONDS = 3600;
/** A token answer is a few hundred bytes; anything past this is not one, and is not read into memory. */
const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;

/** The fields of a service-account key file (the JSON the Cloud console downloads) that minting uses. */
const serviceAccountSchema = z.object({
  type: z.optional(z.literal('service_account')),
  client_email: z.string().check(z.minLength(1)),
  private_key: z.string().check(z.minLength(1)),
  private_key_id: z.optional(z.string()),
  token_uri: z.optional(z.string()),
});

export type ServiceAccount = z.infer<typeof serviceAccountSchema>;

export interface AccessToken {
  readonly value: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

export interface MintRequest {
  readonly account: ServiceAccount;
  readonly privateKey: KeyObject;
  readonly tokenUrl: URL;
  readonly dispatcher: Dispatcher;
  readonly now: Date;
}

export function parseServiceAccount(credential: string): ServiceAccount {
  let json: unknown;
  try {
    json = JSON.parse(credential);
  } catch {
    throw notConfigured('its credential is not JSON; it must be a whole service-account key file');
  }
  const parsed = serviceAccountSchema.safeParse(json);
  if (!parsed.success) {
    const field = parsed.error.issues[0]?.path.join('.') || '(root)';
    throw notConfigured(`its service-account JSON is missing or has an invalid "${field}"`);
  }
  return parsed.data;
}

/**
 * The signed JWT of the OAuth 2.0 JWT-bearer grant (RFC 7523), as Google's service-account flow
 * expects: RS256 over `header.claims`, the audience being the token endpoint it is sent to.
 */
export function signAssertion(account: ServiceAccount, privateKey: KeyObject, tokenUrl: URL, now: Date): string {
  const iat = Math.floor(now.getTime() / 1000);
  const header = { alg: 'RS256', typ: 'JWT', ...(account.private_key_id !== undefined && { kid: account.private_key_id }) };
  const claims = { iss: account.client_email, scope: CLOUD_PLATFORM_SCOPE, aud: tokenUrl.href, iat, exp: iat + ASSERTION_LIFETIME_SECONDS };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = sign('sha256', Buffer.from(signingInput), privateKey);
  return `${signingInput}.${signature.toString('base64url')}`;
}

const tokenResponseSchema = z.object({ access_token: z.string().check(z.minLength(1)), expires_in: z.number().check(z.positive()) });

/** Exchanges a fresh assertion for an access token at the token endpoint. */
export async function mintAccessToken({ account, privateKey, tokenUrl, dispatcher, now }: MintRequest): Promise<AccessToken> {
  const form = new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    assertion: signAssertion(account, privateKey, tokenUrl, now),
  }).toString();
  let status: number;
  let text: string;
  try {
    const response = await dispatcher.request({
      origin: tokenUrl.origin,
      path: `${tokenUrl.pathname}${tokenUrl.search}`,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form,
      headersTimeout: TOKEN_TIMEOUT_MS,
      bodyTimeout: TOKEN_TIMEOUT_MS,
    });
    status = response.statusCode;
    text = await readBounded(response.body, MAX_TOKEN_RESPONSE_BYTES);
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    throw new GatewayError('upstream_unreachable', `Google's token endpoint at ${tokenUrl.host} could not be reached.`, { cause: error });
  }
  const body = parseJson(text);
  if (status >= 500) throw new GatewayError('upstream_unreachable', `Google's token endpoint answered ${status}.`);
  if (status < 200 || status >= 300) throw notConfigured(`Google's token endpoint refused its service account (${describeOAuthError(body, status)})`);
  const parsed = tokenResponseSchema.safeParse(body);
  if (!parsed.success) throw new GatewayError('upstream_unreachable', `Google's token endpoint answered without an access token.`);
  return { value: parsed.data.access_token, expiresAt: now.getTime() + Math.min(parsed.data.expires_in, MAX_TOKEN_LIFETIME_SECONDS) * 1000 };
}

async function readBounded(body: AsyncIterable<Uint8Array> & { destroy(): unknown }, limit: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of body) {
    length += chunk.byteLength;
    if (length > limit) {
      body.destroy();
      throw new GatewayError('upstream_unreachable', `Google's token endpoint answered with more than ${limit} bytes, which is not a token.`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

interface CacheEntry {
  token?: AccessToken;
  /** The mint in flight, shared by every request that arrives while it runs. */
  minting?: Promise<AccessToken>;
}

/**
 * Access tokens per service account and token endpoint, kept until shortly before they expire.
 * Concurrent requests that find no usable token wait for one mint instead of each starting one.
 */
export class AccessTokenCache {
  private readonly entries = new Map<string, CacheEntry>();

  /** `tokenUrl` overrides the service account's own `token_uri` (and Google's default). */
  async token(credential: string, tokenUrl: URL | undefined, dispatcher: Dispatcher, now: () => Date): Promise<string> {
    // Keyed by the whole credential: a rotated key must never be served a token minted for the old one.
    const id = createHash('sha256').update(credential).update('\n').update(tokenUrl?.href ?? '').digest('hex');
    const entry: CacheEntry = this.entries.get(id) ?? {};
    this.entries.set(id, entry);
    if (entry.token && entry.token.expiresAt - REFRESH_MARGIN_MS > now().getTime()) return entry.token.value;
    // Settles only after the assignment, so a mint that fails at once cannot stay cached.
    entry.minting ??= mint(credential, tokenUrl, dispatcher, now())
      .then((token) => (entry.token = token))
      .finally(() => delete entry.minting);
    return (await entry.minting).value;
  }
}

async function mint(credential: string, tokenUrl: URL | undefined, dispatcher: Dispatcher, now: Date): Promise<AccessToken> {
  const account = parseServiceAccount(credential);
  return mintAccessToken({ account, privateKey: privateKeyOf(account), tokenUrl: tokenUrl ?? tokenUrlOf(account), dispatcher, now });
}

function privateKeyOf(account: ServiceAccount): KeyObject {
  try {
    return createPrivateKey(account.private_key);
  } catch {
    throw notConfigured('the "private_key" of its service-account JSON is not a PEM private key');
  }
}

function tokenUrlOf(account: ServiceAccount): URL {
  const uri = account.token_uri;
  if (uri === undefined) return new URL(GOOGLE_TOKEN_URL);
  if (!URL.canParse(uri) || !/^https?:$/.test(new URL(uri).protocol)) throw notConfigured('the "token_uri" of its service-account JSON is not an http(s) URL');
  return new URL(uri);
}

function describeOAuthError(body: unknown, status: number): string {
  if (typeof body === 'object' && body !== null && 'error' in body) {
    const { error, error_description: description } = body as { error: unknown; error_description?: unknown };
    const code = typeof error === 'string' ? error : JSON.stringify(error);
    return typeof description === 'string' ? `${code}: ${description}` : code;
  }
  return `HTTP ${status}`;
}

function notConfigured(reason: string): GatewayError {
  return new GatewayError('provider_not_configured', `Provider google-vertex cannot authenticate upstream: ${reason}.`);
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
