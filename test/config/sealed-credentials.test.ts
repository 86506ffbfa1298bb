import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { localSecretKey, openCredential, sealCredential, SealedCredentialError } from '../../lambda/config/sealed-credentials';
import { tempDir } from '../cli/run';

const CREDENTIAL = '{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIE…"}';

describe('sealed project credentials', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir('tollgate-seal-');
  });
  afterEach(() => dir.remove());

  const key = () => localSecretKey({ TOLLGATE_DATA_DIR: dir.path }, { create: true })!;

  it('opens for the account it was sealed for, and holds nothing of the credential in clear', () => {
    const sealed = sealCredential(CREDENTIAL, key(), 'acme/vertex-acme');

    expect(sealed).toMatch(/^v1:[0-9a-f]{8}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('service_account');
    expect(openCredential(sealed, key(), 'acme/vertex-acme')).toBe(CREDENTIAL);
    // A fresh IV each time: the same credential never seals the same way twice.
    expect(sealCredential(CREDENTIAL, key(), 'acme/vertex-acme')).not.toBe(sealed);
  });

  it('does not open on another account, nor once altered', () => {
    const sealed = sealCredential(CREDENTIAL, key(), 'acme/vertex-acme');
    const parts = sealed.split(':');
    const body = Buffer.from(parts[3]!, 'base64url');
    body[0] = body[0]! ^ 1;
    const altered = [...parts.slice(0, 3), body.toString('base64url')].join(':');

    expect(() => openCredential(sealed, key(), 'beta/vertex-acme')).toThrow(/does not open: it was altered, or belongs to another account/);
    expect(() => openCredential(altered, key(), 'acme/vertex-acme')).toThrow(SealedCredentialError);
    expect(() => openCredential('plain-text', key(), 'acme/vertex-acme')).toThrow(/not in a format this gateway reads/);
  });

  it('keeps one key file, 0600, whoever creates it first, and never makes one just to open', () => {
    expect(localSecretKey({ TOLLGATE_DATA_DIR: dir.path }, { create: false })).toBeUndefined();

    const first = key();
    const second = key();

    expect(second.key.equals(first.key)).toBe(true);
    expect(first.source).toBe(join(dir.path, 'secret.key'));
    expect(statSync(first.source).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(first.source, 'utf8').trim(), 'base64').equals(first.key)).toBe(true);
  });

  it('takes TOLLGATE_SECRET_KEY as hex or base64, and refuses anything else without quoting it', () => {
    const bytes = Buffer.alloc(32, 9);
    expect(localSecretKey({ TOLLGATE_SECRET_KEY: bytes.toString('hex') }, { create: false })?.key.equals(bytes)).toBe(true);
    expect(localSecretKey({ TOLLGATE_SECRET_KEY: bytes.toString('base64') }, { create: false })?.key.equals(bytes)).toBe(true);
    expect(localSecretKey({ TOLLGATE_SECRET_KEY: bytes.toString('base64url') }, { create: true })?.source).toBe('TOLLGATE_SECRET_KEY');

    for (const bad of ['correct horse battery staple', bytes.subarray(0, 16).toString('hex'), Buffer.alloc(33).toString('base64')]) {
      let message = '';
      try {
        localSecretKey({ TOLLGATE_SECRET_KEY: bad }, { create: false });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toBe('TOLLGATE_SECRET_KEY must hold a 32-byte key, as 64 hex digits or base64 (make one with: openssl rand -base64 32)');
    }
  });
});
