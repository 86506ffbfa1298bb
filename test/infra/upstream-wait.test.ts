import { Duration } from 'aws-cdk-lib';
import { withUpstreamWaitWithin } from '../../lib/proxy';

describe('the upstream first-byte wait against the Lambda timeout', () => {
  it('keeps the default (600 s) under the default 15-minute timeout', () => {
    expect(withUpstreamWaitWithin({}, Duration.minutes(15))).toEqual({});
  });

  it('shortens the default to leave 30 s to answer and settle under a shorter timeout', () => {
    expect(withUpstreamWaitWithin({ upstream: { idleTimeoutMs: 1000 } }, Duration.minutes(5))).toEqual({
      upstream: { idleTimeoutMs: 1000, firstByteTimeoutMs: 270_000 },
    });
  });

  it('refuses a configured wait the function would be cut off in, saying the most it may be', () => {
    expect(() => withUpstreamWaitWithin({ upstream: { firstByteTimeoutMs: 880_000 } }, Duration.minutes(15))).toThrow(
      'upstream.firstByteTimeoutMs (880000) must leave the function 30 s of its 900 s timeout to answer and settle: at most 870000',
    );
    expect(withUpstreamWaitWithin({ upstream: { firstByteTimeoutMs: 870_000 } }, Duration.minutes(15))).toEqual({ upstream: { firstByteTimeoutMs: 870_000 } });
  });
});
