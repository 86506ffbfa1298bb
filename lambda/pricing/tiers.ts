/**
 * Service tiers: a provider bills some tiers (OpenAI's `priority`, Bedrock's latency-optimized
 * inference) above the standard rates genai-prices holds, and some below (`flex`). A tier's price
 * is the standard price times its multiplier, kept in basis points (10 000 = ×1) so money stays
 * in integers.
 */

/** ×1: the standard rates. */
export const STANDARD = 10_000;

/** Basis points by tier name, as the API spells it (`priority`, `flex`, …). */
export type TierPrices = ReadonlyMap<string, number>;

/**
 * A tier table from multipliers of the standard price.
 *
 * @example
 * tierPrices({ default: 1, flex: 0.5, priority: 2 }).get('flex'); // 5000
 */
export function tierPrices(multipliers: Readonly<Record<string, number>>): TierPrices {
  const table = new Map<string, number>();
  for (const [name, multiplier] of Object.entries(multipliers)) {
    const points = basisPoints(multiplier);
    if (points === undefined) throw new Error(`tier ${name}: ${multiplier} is not a multiplier in basis points`);
    table.set(name, points);
  }
  return table;
}

/** The largest multiplier the config accepts: ×100. */
export const MAX_TIER_MULTIPLIER = 100;

/** A multiplier as basis points; undefined for one that is negative, past ×100, or finer than 0.0001. */
export function basisPoints(multiplier: number): number | undefined {
  if (!Number.isFinite(multiplier) || multiplier < 0 || multiplier > MAX_TIER_MULTIPLIER) return undefined;
  const points = Math.round(multiplier * STANDARD);
  return Math.abs(points - multiplier * STANDARD) < 1e-6 ? points : undefined;
}

/**
 * A tier's basis points: the account's own price for it first, then the API's documented one.
 * A name joining several tiers with `+` (Bedrock's `priority+latency-optimized`) costs their
 * product. Undefined for a tier neither table knows: the gateway cannot price it.
 */
export function tierBasisPoints(tier: string, own: TierPrices | undefined, documented: TierPrices | undefined): number | undefined {
  const single = own?.get(tier) ?? documented?.get(tier);
  if (single !== undefined || !tier.includes('+')) return single;
  let product = STANDARD;
  for (const part of tier.split('+')) {
    const points = own?.get(part) ?? documented?.get(part);
    if (points === undefined) return undefined;
    product = applyTier(product, points);
  }
  return product;
}

/**
 * `nanos` at `points` basis points, rounded up so a charge is never below the tier's price. Exact
 * in integers for any amount up to 2^53 at ×100 and below: the product is split at 10 000.
 */
export function applyTier(nanos: number, points: number): number {
  if (points === STANDARD) return nanos;
  const whole = Math.floor(nanos / STANDARD);
  const rest = nanos - whole * STANDARD;
  return whole * points + Math.ceil((rest * points) / STANDARD);
}
