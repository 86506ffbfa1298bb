import { createCipheriv, createDecipheriv, hash, randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, linkSync, openSync, readFileSync, unlinkSync, writeSync, fsyncSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_DATA_DIR } from '../app/open-store';
import { PRIVATE_FILE_MODE, preparePrivateDir } from '../store/data-dir';

/** Where an operator may give the key instead of the key file: 32 bytes, as 64 hex digits or base64. */
export const SECRET_KEY_ENV = 'TOLLGATE_SECRET_KEY';
/** The key file tollgate creates on first use, in the data directory (0600, like the store). */
export const SECRET_KEY_FILE = 'secret.key';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = 'v1';

/**
 * A credential could not be sealed or opened. Messages name the key's source and the account,
 * never any part of the credential or of the key.
 */
export class SealedCredentialError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SealedCredentialError';
  }
}

/** The local secret key and where it came from, for messages. */
export interface SecretKey {
  readonly key: Buffer;
  readonly source: string;
}

/**
 * Seals a project account's credential with AES-256-GCM:
 * `v1:<key id>:<iv>:<ciphertext and tag>` (base64url). `context` (the project and account) is
 * authenticated with it, so a sealed value copied onto another account does not open there.
 *
 * @example
 * const sealed = sealCredential('sk-…', secretKey, 'acme/openai-acme');
 * openCredential(sealed, secretKey, 'acme/openai-acme'); // 'sk-…'
 */
export function sealCredential(credential: string, secretKey: SecretKey, context: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', secretKey.key, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(credential, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return [VERSION, keyId(secretKey.key), iv.toString('base64url'), body.toString('base64url')].join(':');
}

export function openCredential(sealed: string, secretKey: SecretKey, context: string): string {
  const [version, id, iv, body] = sealed.split(':');
  if (version !== VERSION || id === undefined || iv === undefined || body === undefined) {
    throw new SealedCredentialError(`the stored credential of ${context} is not in a format this gateway reads`);
  }
  if (id !== keyId(secretKey.key)) {
    throw new SealedCredentialError(
      `the credential of ${context} was sealed with another secret key than ${secretKey.source}: give the gateway the key the CLI used (${SECRET_KEY_ENV}, or the data directory's ${SECRET_KEY_FILE})`,
    );
  }
  const bytes = Buffer.from(body, 'base64url');
  try {
    const decipher = createDecipheriv('aes-256-gcm', secretKey.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(bytes.subarray(bytes.byteLength - TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(0, bytes.byteLength - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch (error) {
    throw new SealedCredentialError(`the stored credential of ${context} does not open: it was altered, or belongs to another account`, { cause: error });
  }
}

/** A short, public fingerprint of the key, so a value sealed under another key says so instead of failing as tampered. */
function keyId(key: Buffer): string {
  return hash('sha256', Buffer.concat([Buffer.from('tollgate-secret-key-id:'), key]), 'hex').slice(0, 8);
}

/**
 * The local secret key: `TOLLGATE_SECRET_KEY` if set, else `secret.key` in the data directory.
 * With `create`, a missing key file is made (32 random bytes, 0600) — only sealing creates one:
 * a new key could open nothing already sealed. Undefined when there is none and none was made.
 */
export function localSecretKey(env: NodeJS.ProcessEnv, options: { readonly create: boolean }): SecretKey | undefined {
  const given = env[SECRET_KEY_ENV];
  if (given !== undefined && given !== '') return { key: parseKey(given, SECRET_KEY_ENV), source: SECRET_KEY_ENV };
  const dataDir = env['TOLLGATE_DATA_DIR'] ?? DEFAULT_DATA_DIR;
  const file = join(options.create ? preparePrivateDir(dataDir) : dataDir, SECRET_KEY_FILE);
  const existing = readKeyFile(file);
  if (existing || !options.create) return existing;
  createKeyFile(file);
  return readKeyFile(file);
}

function readKeyFile(file: string): SecretKey | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SealedCredentialError(`cannot read the secret key file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { cause: error });
  }
  return { key: parseKey(text, file), source: file };
}

/**
 * Written whole to a temporary file, then linked into place: a gateway or a second CLI reading at
 * the same moment sees no key or the whole key, and of two racing creators the first link wins.
 */
function createKeyFile(file: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  const fd = openSync(temporary, 'wx', PRIVATE_FILE_MODE);
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE);
    writeSync(fd, `${randomBytes(KEY_BYTES).toString('base64')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
}

/** Never quotes the text: it is the key, or something an operator meant to be one. */
function parseKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(trimmed)
    ? Buffer.from(trimmed, 'hex')
    : /^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)
      ? Buffer.from(trimmed, 'base64')
      : undefined;
  if (bytes?.byteLength !== KEY_BYTES) {
    throw new SealedCredentialError(`${source} must hold a 32-byte key, as 64 hex digits or base64 (make one with: openssl rand -base64 32)`);
  }
  return bytes;
}
