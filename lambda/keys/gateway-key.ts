import { hash, randomBytes } from 'node:crypto';

/**
 * Gateway keys look like `tgk_<12 hex id>_<43 base64url secret>`. The id is embedded so a
 * lookup needs no index on the hash; the hash covers the whole key. Not `pylf_`: pydantic-ai
 * sends keys with that prefix to Pydantic's hosted gateway.
 */
export const KEY_PREFIX = 'tgk_';
const ID_LENGTH = 12;
const SECRET_BYTES = 32;
const KEY_PATTERN = /^tgk_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;

export interface NewKey {
  /** Shown to the operator once, then never again. */
  readonly key: string;
  readonly id: string;
  readonly hash: string;
  readonly prefix: string;
}

export function generateKey(): NewKey {
  const id = randomBytes(ID_LENGTH / 2).toString('hex');
  const key = `${KEY_PREFIX}${id}_${randomBytes(SECRET_BYTES).toString('base64url')}`;
  return { key, id, hash: hashKey(key), prefix: visiblePrefix(key) };
}

/** The key's id, or undefined if the string is not shaped like a gateway key. */
export function keyId(key: string): string | undefined {
  return KEY_PATTERN.exec(key)?.[1];
}

/** Unsalted SHA-256 is enough: the secret is 256 random bits, so there is nothing to brute-force. */
export function hashKey(key: string): string {
  return hash('sha256', key, 'hex');
}

/**
 * Compares the hex digests without stopping at the first difference, so the time taken says
 * nothing about how much of the hash matched. Strings, not `timingSafeEqual` on buffers: the
 * one-shot hash to hex plus this loop costs ~0.3 µs per request, buffers ~1.5 µs.
 */
export function hashMatches(key: string, storedHash: string): boolean {
  const actual = hashKey(key);
  if (actual.length !== storedHash.length) return false;
  let difference = 0;
  for (let i = 0; i < actual.length; i++) difference |= actual.charCodeAt(i) ^ storedHash.charCodeAt(i);
  return difference === 0;
}

function visiblePrefix(key: string): string {
  return key.slice(0, KEY_PREFIX.length + ID_LENGTH + 5);
}
