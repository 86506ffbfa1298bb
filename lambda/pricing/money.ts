const NANOS_PER_USD = 1_000_000_000;

/**
 * The most one request may cost: $10,000. Far above what any request to today's models can cost
 * (a full context window at the dearest rates is in the hundreds), and far below where counters
 * summing many such requests would leave the range of exact integers. Reservations are refused
 * above it, and usage priced above it is nonsense from the upstream, not a price.
 */
export const MAX_REQUEST_NANOS = 10_000 * NANOS_PER_USD;

/**
 * genai-prices computes in floating-point dollars; we cross into integer nano-dollars once,
 * here. Nano, not micro: a $0.00000014 embedding call must not round to zero.
 */
export function usdToNanos(usd: number): number {
  const nanos = Math.round(usd * NANOS_PER_USD);
  if (!Number.isSafeInteger(nanos) || nanos < 0) throw new RangeError(`not a storable price: ${usd} USD`);
  return nanos;
}

/** Exact decimal rendering of nano-dollars, with no float in between: 7375000 → "0.007375". */
export function formatUsd(nanos: number): string {
  const whole = Math.floor(nanos / NANOS_PER_USD);
  const fraction = String(nanos % NANOS_PER_USD).padStart(9, '0').replace(/0+$/, '');
  return `${whole}.${fraction.padEnd(2, '0')}`;
}
