import fc from 'fast-check';
import { MAX_REQUEST_NANOS } from '../../lambda/pricing/money';
import { applyTier, basisPoints, tierBasisPoints, tierPrices } from '../../lambda/pricing/tiers';

describe('service tier prices', () => {
  it('applyTier is the exact product, rounded up, for any charge a request can have', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_REQUEST_NANOS }), fc.integer({ min: 0, max: 1_000_000 }), (nanos, points) => {
        const exact = (BigInt(nanos) * BigInt(points) + 9_999n) / 10_000n;
        expect(applyTier(nanos, points)).toBe(Number(exact));
      }),
    );
  });

  it('reads multipliers as basis points, refusing what basis points cannot hold', () => {
    expect(basisPoints(1.75)).toBe(17_500);
    expect(basisPoints(0.0001)).toBe(1);
    expect(basisPoints(0.00015)).toBeUndefined();
    expect(basisPoints(-1)).toBeUndefined();
    expect(basisPoints(101)).toBeUndefined();
    expect(basisPoints(Number.NaN)).toBeUndefined();
  });

  it("prices the account's tiers first, joined tiers as their product, and no inherited property as a tier", () => {
    const documented = tierPrices({ default: 1, priority: 2, 'latency-optimized': 2 });
    const own = tierPrices({ priority: 1.5 });

    expect(tierBasisPoints('priority', own, documented)).toBe(15_000);
    expect(tierBasisPoints('priority+latency-optimized', undefined, documented)).toBe(40_000);
    expect(tierBasisPoints('priority+turbo', own, documented)).toBeUndefined();
    expect(tierBasisPoints('constructor', own, documented)).toBeUndefined();
    expect(tierBasisPoints('__proto__', own, documented)).toBeUndefined();
  });
});
