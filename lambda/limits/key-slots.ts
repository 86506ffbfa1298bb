import { GatewayError } from '../core/errors';

/**
 * Requests each key has in flight in this process, held under a ceiling so one key cannot take
 * every connection of an upstream pool (and make every other key wait behind it). It sits beside
 * a key's own `--concurrent` cap, which the store enforces across processes: this one costs no
 * round trip and applies to every key, capped or not.
 *
 * @example
 * const slots = new KeySlots(64);
 * const release = slots.acquire(policy.key.id); // throws 429 past the ceiling
 * try { … } finally { release(); }
 */
export class KeySlots {
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly ceiling: number) {}

  /** Takes a slot for `keyId`, or refuses with a 429 the SDKs retry. The returned release is idempotent. */
  acquire(keyId: string): () => void {
    const held = this.inFlight.get(keyId) ?? 0;
    if (held >= this.ceiling) {
      throw new GatewayError(
        'rate_limited',
        `Gateway key ${keyId} has ${held} requests in flight, the most one key may have at once on this gateway; retry when one ends.`,
        { headers: { 'retry-after': '1' } },
      );
    }
    this.inFlight.set(keyId, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.inFlight.get(keyId) ?? 1) - 1;
      // Deleted at zero, so the map holds only keys with requests in flight.
      if (left <= 0) this.inFlight.delete(keyId);
      else this.inFlight.set(keyId, left);
    };
  }
}
