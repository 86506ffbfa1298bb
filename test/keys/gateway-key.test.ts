import { createHash } from 'node:crypto';
import { generateKey, hashKey, hashMatches, keyId } from '../../lambda/keys/gateway-key';
import { formatUsd, usdToNanos } from '../../lambda/pricing/money';

describe('gateway keys', () => {
  it('embeds its id, and is stored only as a hash that matches nothing else', () => {
    const a = generateKey();
    const b = generateKey();

    expect(a.key).toMatch(/^tgk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(keyId(a.key)).toBe(a.id);
    expect(a.hash).toBe(hashKey(a.key));
    expect(a.hash).not.toContain(a.key.slice(17));
    expect(a.key.startsWith(a.prefix)).toBe(true);
    expect(a.prefix.length).toBeLessThan(a.key.length / 2);
    expect(hashMatches(a.key, a.hash)).toBe(true);
    expect(hashMatches(b.key, a.hash)).toBe(false);
    expect(a.id).not.toBe(b.id);
  });

  it('matches a stored hash only in full: one character off, a prefix or an empty hash does not match', () => {
    const { key, hash } = generateKey();
    const other = (char: string | undefined) => (char === '0' ? '1' : '0');
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hashMatches(key, `${hash.slice(0, -1)}${other(hash.at(-1))}`)).toBe(false);
    expect(hashMatches(key, `${other(hash[0])}${hash.slice(1)}`)).toBe(false);
    expect(hashMatches(key, hash.slice(0, 32))).toBe(false);
    expect(hashMatches(key, `${hash}0`)).toBe(false);
    expect(hashMatches(key, '')).toBe(false);
    // The known SHA-256 of a fixed key: stores written before keep matching.
    expect(hashKey(`tgk_0123456789ab_${'A'.repeat(43)}`)).toBe(createHash('sha256').update(`tgk_0123456789ab_${'A'.repeat(43)}`).digest('hex'));
  });

  it.each(['', 'sk-proj-abc', 'pylf_v1_us_abc', `tgk_0123456789ab_${'a'.repeat(42)}`, `tgk_0123456789AB_${'a'.repeat(43)}`])(
    'does not take %j for a gateway key',
    (candidate) => {
      expect(keyId(candidate)).toBeUndefined();
    },
  );
});

describe('money', () => {
  it.each([
    [0.007375, 7_375_000, '0.007375'],
    [1.6e-7, 160, '0.00000016'],
    [0, 0, '0.00'],
    [50, 50_000_000_000, '50.00'],
    [1234.5, 1_234_500_000_000, '1234.50'],
  ])('%f USD is %i nano-dollars, shown as %s', (usd, nanos, shown) => {
    expect(usdToNanos(usd)).toBe(nanos);
    expect(formatUsd(nanos)).toBe(shown);
  });

  it('refuses amounts it could not store exactly', () => {
    expect(() => usdToNanos(-1)).toThrow(RangeError);
    expect(() => usdToNanos(Number.NaN)).toThrow(RangeError);
    expect(() => usdToNanos(1e10)).toThrow(RangeError);
  });
});
