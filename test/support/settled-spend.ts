import type { Store } from '../../lambda/store/port';

/** A key's settled lifetime spend, once its `requests` requests have settled (spend settles after the response ends). */
export async function settledSpend(store: Store, keyId: string, requests = 1): Promise<number> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const counter = (await store.getSpend()).find((c) => c.scope.kind === 'key' && c.scope.id === keyId && c.period === 'lifetime');
    if (counter && counter.requests >= requests && counter.reservedNanos === 0) return counter.nanos;
    if (Date.now() > deadline) throw new Error(`spend never settled for ${keyId}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
