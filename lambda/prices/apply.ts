import { updatePrices, type Provider } from '@pydantic/genai-prices';
import type { Logger } from '../core/log';
import { PROVIDERS } from '../providers';
import { parsePriceData } from './validate';
import type { PriceStore } from './store';

/**
 * genai-prices provider ids of every provider tollgate routes to: refreshed data must price them
 * all. A kind whose accounts each choose their pricing (a generic OpenAI-compatible server) has
 * none of its own to require.
 */
export function requiredPricingIds(): string[] {
  return [...new Set(Object.values(PROVIDERS).flatMap((provider) => (provider.pricingIdFor ? [] : [provider.pricingId])))].sort();
}

/**
 * Makes `providers` the data every `calcPrice` in this process uses (and so every Pricer).
 * genai-prices normalises the data as it takes it and throws if it cannot, leaving the data in
 * force untouched.
 */
export function applyPriceData(providers: Provider[]): void {
  updatePrices(({ setProviderData }) => setProviderData(providers));
}

export interface PriceSyncOptions {
  readonly store: PriceStore;
  /** How often a running proxy asks whether a newer copy was stored. @default 10 minutes */
  readonly intervalMs?: number;
  /** @default {@link requiredPricingIds} */
  readonly requiredProviders?: readonly string[];
  readonly logger: Logger;
  /** Milliseconds since the epoch. @default Date.now */
  readonly clock?: () => number;
}

/**
 * Keeps a long-lived process on the latest stored copy: `load()` once at start, then
 * `refreshIfDue()` as often as convenient — it costs one small read per interval, plus one full
 * read when the copy changed. Until a copy is loaded, genai-prices' bundled data is used.
 * Neither method throws: a proxy keeps pricing with the data it has.
 *
 * @example
 * const prices = new PriceSync({ store, logger });
 * await prices.load();               // cold start
 * await prices.refreshIfDue();       // after each response is sent
 */
export class PriceSync {
  private readonly intervalMs: number;
  private readonly required: readonly string[];
  private readonly clock: () => number;
  private loadedSha: string | undefined;
  private lastCheck = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: PriceSyncOptions) {
    this.intervalMs = options.intervalMs ?? 10 * 60_000;
    this.required = options.requiredProviders ?? requiredPricingIds();
    this.clock = options.clock ?? Date.now;
  }

  /** The hash of the copy in use, or undefined while the bundled data is. */
  get sha256(): string | undefined {
    return this.loadedSha;
  }

  async load(): Promise<void> {
    this.lastCheck = this.clock();
    try {
      const snapshot = await this.options.store.load();
      if (!snapshot) return; // nothing refreshed yet: the bundled data stays in force
      const verdict = parsePriceData(snapshot.data, this.required);
      if (!verdict.ok) {
        this.options.logger.error('prices_invalid', { sha256: snapshot.sha256, reason: verdict.reason });
        return;
      }
      applyPriceData(verdict.providers);
      this.loadedSha = snapshot.sha256;
      this.options.logger.info('prices_loaded', { sha256: snapshot.sha256, fetched_at: snapshot.fetchedAt, checked_at: snapshot.checkedAt, providers: verdict.providers.length, models: verdict.models });
    } catch (error) {
      this.options.logger.error('prices_load_failed', { message: error instanceof Error ? error.message : String(error) });
    }
  }

  async refreshIfDue(): Promise<void> {
    if (this.clock() - this.lastCheck < this.intervalMs) return;
    this.lastCheck = this.clock();
    try {
      const head = await this.options.store.head();
      if (!head || head.sha256 === this.loadedSha) return;
    } catch (error) {
      this.options.logger.error('prices_load_failed', { message: error instanceof Error ? error.message : String(error) });
      return;
    }
    await this.load();
  }
}
