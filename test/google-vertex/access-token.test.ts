import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { GatewayError } from '../../lambda/core/errors';
import { AccessTokenCache } from '../../lambda/providers/google-oauth';
import { createServiceAccount, startFakeGoogle, type FakeGoogle } from '../support/fake-google';
import { serviceAccount } from '../support/vertex-harness';

describe('access tokens minted from a service account', () => {
  let google: FakeGoogle;
  let dispatcher: Agent;
  let clock: Date;
  const now = (): Date => clock;

  beforeEach(async () => {
    google = await startFakeGoogle(serviceAccount());
    dispatcher = new Agent();
    clock = new Date();
    google.now = now;
  });
  afterEach(async () => {
    await dispatcher.close();
    await google.close();
  });

  it('signs an assertion the token endpoint verifies, and reuses the token until five minutes before it expires', async () => {
    // GIVEN a token that lives an hour
    const cache = new AccessTokenCache();
    const tokenUrl = new URL(google.tokenUrl);
    google.tokenLifetimeSeconds = 3600;

    // WHEN it is asked for at once, 54 minutes later, then 56 minutes later
    const first = await cache.token(serviceAccount().json, tokenUrl, dispatcher, now);
    clock = new Date(clock.getTime() + 54 * 60_000);
    const reused = await cache.token(serviceAccount().json, tokenUrl, dispatcher, now);
    clock = new Date(clock.getTime() + 2 * 60_000);
    const refreshed = await cache.token(serviceAccount().json, tokenUrl, dispatcher, now);

    // THEN one token served twice, then a fresh one
    expect([first, reused, refreshed]).toEqual(['ya29.fake-access-token-1', 'ya29.fake-access-token-1', 'ya29.fake-access-token-2']);
    expect(google.refusals).toEqual([]);
    expect(google.mints[1]?.claims).toMatchObject({ aud: google.tokenUrl, iat: Math.floor(clock.getTime() / 1000) });
  });

  it('does not believe a lifetime longer than an hour: the token is minted again within the hour', async () => {
    const cache = new AccessTokenCache();
    google.tokenLifetimeSeconds = 10 ** 12;

    const first = await cache.token(serviceAccount().json, new URL(google.tokenUrl), dispatcher, now);
    clock = new Date(clock.getTime() + 56 * 60_000);
    const later = await cache.token(serviceAccount().json, new URL(google.tokenUrl), dispatcher, now);

    expect([first, later]).toEqual(['ya29.fake-access-token-1', 'ya29.fake-access-token-2']);
  });

  it('refuses a token answer too large to be one, without reading it all', async () => {
    // GIVEN a token endpoint that answers 200 with an endless body
    let written = 0;
    const endless = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = (): void => {
        while (written < 48 * 1024 * 1024 && response.write(chunk)) written += chunk.length;
        if (written < 48 * 1024 * 1024 && !response.destroyed) response.once('drain', pump);
      };
      pump();
    });
    await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve));
    try {
      const url = new URL(`http://127.0.0.1:${(endless.address() as AddressInfo).port}/token`);

      // WHEN a token is asked for
      const error = await new AccessTokenCache().token(serviceAccount().json, url, dispatcher, now).catch((e: unknown) => e);

      // THEN it fails as the endpoint's fault, having read a small part of what was on offer
      expect(error).toBeInstanceOf(GatewayError);
      expect((error as GatewayError).message).toContain('not a token');
      expect(written).toBeLessThan(32 * 1024 * 1024);
    } finally {
      endless.closeAllConnections();
      await new Promise((resolve) => endless.close(resolve));
    }
  });

  it('shares one mint between concurrent callers', async () => {
    const cache = new AccessTokenCache();
    google.tokenDelayMs = 100;

    const tokens = await Promise.all(Array.from({ length: 8 }, () => cache.token(serviceAccount().json, new URL(google.tokenUrl), dispatcher, now)));

    expect(new Set(tokens)).toEqual(new Set(['ya29.fake-access-token-1']));
    expect(google.mints).toHaveLength(1);
  });

  it('does not cache a refusal: a key Google does not know fails every time, in a message naming why', async () => {
    // GIVEN a service account whose private key is not the one the token endpoint knows
    const impostor = createServiceAccount().json;
    const cache = new AccessTokenCache();

    // WHEN it is used twice
    const first = await cache.token(impostor, new URL(google.tokenUrl), dispatcher, now).catch((e: unknown) => e);
    const second = await cache.token(impostor, new URL(google.tokenUrl), dispatcher, now).catch((e: unknown) => e);

    // THEN both tries reached the endpoint and were refused for the signature
    expect(google.refusals).toEqual(['Invalid JWT Signature.', 'Invalid JWT Signature.']);
    for (const error of [first, second]) {
      expect(error).toBeInstanceOf(GatewayError);
      expect(error).toMatchObject({ code: 'provider_not_configured', status: 500 });
      expect((error as Error).message).toContain('invalid_grant: Invalid JWT Signature.');
    }
  });

  it('uses the service account’s token_uri, unless the config names a token URL', async () => {
    // GIVEN a key file whose token_uri is the fake, and one whose token_uri leads nowhere
    const { private_key } = JSON.parse(serviceAccount().json) as { private_key: string };
    const toFake = createServiceAccount({ private_key, token_uri: google.tokenUrl }).json;
    const toNowhere = createServiceAccount({ private_key, token_uri: 'http://127.0.0.1:9/token' }).json;
    const cache = new AccessTokenCache();

    // WHEN
    const viaTokenUri = await cache.token(toFake, undefined, dispatcher, now);
    const viaConfig = await cache.token(toNowhere, new URL(google.tokenUrl), dispatcher, now);
    const unreachable = await cache.token(toNowhere, undefined, dispatcher, now).catch((e: unknown) => e);

    // THEN
    expect([viaTokenUri, viaConfig]).toEqual(['ya29.fake-access-token-1', 'ya29.fake-access-token-2']);
    expect(unreachable).toMatchObject({ code: 'upstream_unreachable', status: 502 });
  });

  it.each([
    ['not JSON', 'not json at all', 'its credential is not JSON'],
    ['missing client_email', JSON.stringify({ type: 'service_account', private_key: 'x' }), '"client_email"'],
    ['a private key that is not PEM', JSON.stringify({ client_email: 'a@b', private_key: 'nope' }), 'not a PEM private key'],
  ])('refuses a credential that is %s without calling Google', async (_name, credential, message) => {
    const failure = await new AccessTokenCache().token(credential, new URL(google.tokenUrl), dispatcher, now).catch((e: unknown) => e);

    expect(failure).toMatchObject({ code: 'provider_not_configured' });
    expect((failure as Error).message).toContain(message);
    expect(google.mints.length + google.refusals.length).toBe(0);
  });
});
