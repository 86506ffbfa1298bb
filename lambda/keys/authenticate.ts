import { GatewayError } from '../core/errors';
import { headerValue, type IncomingHeaders } from '../core/http-types';
import type { Policy } from '../limits/plan';
import { hashMatches, KEY_PREFIX, keyId } from './gateway-key';
import type { PolicySource } from './policy-cache';

/** The places SDKs put an API key: OpenAI's, Anthropic's, Google's and Azure OpenAI's (`api-key`). */
export function presentedKey(headers: IncomingHeaders): string | undefined {
  const authorization = headerValue(headers, 'authorization');
  if (authorization) {
    const match = /^bearer\s+(.+)$/i.exec(authorization.trim());
    if (match?.[1]) return match[1].trim();
  }
  return headerValue(headers, 'x-api-key')?.trim() || headerValue(headers, 'x-goog-api-key')?.trim() || headerValue(headers, 'api-key')?.trim() || undefined;
}

/** Messages never echo the presented key, not even a part of it. */
export async function authenticate(headers: IncomingHeaders, policies: PolicySource, now: Date): Promise<Policy> {
  return authenticateKey(presentedKey(headers), policies, now);
}

/** {@link authenticate}, for a caller that already holds the key it was presented (to keep it from going upstream). */
export async function authenticateKey(key: string | undefined, policies: PolicySource, now: Date): Promise<Policy> {
  if (!key) {
    throw new GatewayError('missing_api_key', 'No gateway key: send it as "Authorization: Bearer <key>", "x-api-key", "x-goog-api-key" or "api-key".');
  }
  const id = keyId(key);
  if (!id) throw new GatewayError('invalid_api_key', `The API key is not a tollgate gateway key (those start with "${KEY_PREFIX}").`);
  const policy = await policies.load(id);
  const record = policy?.key;
  if (!policy || !record || !hashMatches(key, record.hash)) throw new GatewayError('invalid_api_key', 'Invalid gateway key.');
  if (record.revokedAt !== undefined) throw new GatewayError('revoked_api_key', `Gateway key ${record.id} has been revoked.`);
  if (record.disabledAt !== undefined) throw new GatewayError('disabled_api_key', `Gateway key ${record.id} is disabled.`);
  if (record.expiresAt !== undefined && Date.parse(record.expiresAt) <= now.getTime()) {
    throw new GatewayError('expired_api_key', `Gateway key ${record.id} expired at ${record.expiresAt}.`);
  }
  if (record.blockedUntil !== undefined && Date.parse(record.blockedUntil) > now.getTime()) {
    throw new GatewayError(
      'key_blocked',
      `Gateway key ${record.id} is blocked until ${record.blockedUntil}: an earlier request's cost could not be calculated.`,
    );
  }
  return policy;
}
