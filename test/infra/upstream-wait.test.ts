import { Duration } from 'aws-cdk-lib';
import { checkReservationTtl, withUpstreamWaitWithin } from '../../lib/proxy';

describe('the upstream waits against the Lambda timeout', () => {
  it('gives a config that sets no wait the longest that fits: the timeout less 30 s to answer and settle (not undici\'s 300 s)', () => {
    expect(withUpstreamWaitWithin({}, Duration.minutes(15))).toEqual({ upstream: { firstByteTimeoutMs: 870_000, idleTimeoutMs: 870_000 } });
    expect(withUpstreamWaitWithin({ upstream: { connectTimeoutMs: 5000 } }, Duration.minutes(5))).toEqual({
      upstream: { connectTimeoutMs: 5000, firstByteTimeoutMs: 270_000, idleTimeoutMs: 270_000 },
    });
  });

  it('keeps a configured wait that fits', () => {
    expect(withUpstreamWaitWithin({ upstream: { firstByteTimeoutMs: 600_000, idleTimeoutMs: 1000 } }, Duration.minutes(15))).toEqual({
      upstream: { firstByteTimeoutMs: 600_000, idleTimeoutMs: 1000 },
    });
  });

  it.each(['firstByteTimeoutMs', 'idleTimeoutMs'])('refuses a configured %s the function would be cut off in, saying the most it may be', (field) => {
    expect(() => withUpstreamWaitWithin({ upstream: { [field]: 880_000 } }, Duration.minutes(15))).toThrow(
      `upstream.${field} (880000) must leave the function 30 s of its 900 s timeout to answer and settle: at most 870000, or leave it out to get exactly that`,
    );
    expect(withUpstreamWaitWithin({ upstream: { [field]: 870_000 } }, Duration.minutes(15))).toMatchObject({ upstream: { [field]: 870_000 } });
  });
});

describe('the reservation TTL against the Lambda timeout', () => {
  it('accepts a TTL that outlasts the longest invocation by a minute (the default 1200 s against 900 s)', () => {
    expect(() => checkReservationTtl(1200, Duration.minutes(15))).not.toThrow();
    expect(() => checkReservationTtl(960, Duration.minutes(15))).not.toThrow();
  });

  it('refuses one the reconciler could expire while its request still runs, saying how to fix it', () => {
    expect(() => checkReservationTtl(959, Duration.minutes(15))).toThrow(
      "TollgateProxy gatewayConfig: limits.reservationTtlSeconds (959) must exceed the proxy's 900 s timeout by 60 s, or the reconciler may settle a request at its estimate while it is still running: set it to at least 960, or shorten the proxy's timeout",
    );
  });
});
