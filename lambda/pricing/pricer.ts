import { calcPrice, extractUsage, findProvider, type ModelPrice, type Provider, type Usage } from '@pydantic/genai-prices';
import type { UsageDocument } from '../formats/types';
import { usdToNanos } from './money';

/** A price the operator adds for a model the price data lacks (a fine-tune, a new release). */
export interface CustomPrice {
  /** genai-prices provider id, e.g. `openai`. */
  readonly pricingId: string;
  readonly model: string;
  /** USD per million tokens, in genai-prices' own keys: `input_mtok`, `output_mtok`, `cache_read_mtok`, … */
  readonly prices: ModelPrice;
}

export interface PricedUsage {
  readonly nanos: number;
  readonly usage: Usage;
  /** The model the price was matched to, for reporting. */
  readonly model: string;
}

/** Prices usage with operator prices first, then genai-prices' data. */
export class Pricer {
  private readonly custom = new Map<string, Provider>();

  constructor(customPrices: readonly CustomPrice[] = []) {
    for (const price of customPrices) {
      const provider = this.custom.get(price.pricingId) ?? { id: price.pricingId, name: `${price.pricingId} (custom)`, api_pattern: '', models: [] };
      provider.models.push({ id: price.model, match: { equals: price.model }, prices: price.prices });
      this.custom.set(price.pricingId, provider);
    }
  }

  /** Whether a request for `model` could be priced at all; checked before forwarding. */
  knows(pricingId: string, model: string): boolean {
    return this.calc({ input_tokens: 0, output_tokens: 0 }, pricingId, model) !== undefined;
  }

  /**
   * An upper bound on what a request can cost, for reservations: every input token priced at
   * the dearer of the plain and cache-write rates (a cache write can cost more than input), and
   * the output at its maximum. Rounded up, so the bound stays a bound.
   */
  estimate(pricingId: string, model: string, inputTokens: number, outputTokens: number): number | undefined {
    const plain = this.calc({ input_tokens: inputTokens, output_tokens: outputTokens }, pricingId, model);
    if (!plain) return undefined;
    const cached = this.calc({ input_tokens: inputTokens, cache_write_tokens: inputTokens, output_tokens: outputTokens }, pricingId, model);
    return Math.ceil(Math.max(plain.total, cached?.total ?? 0) * 1e9);
  }

  /**
   * Reads the usage block with genai-prices' extractor for `pricingId` and prices it. Returns
   * undefined when either the usage or the price cannot be had: the caller decides what that means.
   */
  price(pricingId: string, model: string, document: UsageDocument): PricedUsage | undefined {
    const usage = readUsage(pricingId, document);
    if (!usage) return undefined;
    const result = this.calc(usage, pricingId, model);
    return result && { nanos: usdToNanos(result.total), usage, model: result.model };
  }

  private calc(usage: Usage, pricingId: string, model: string): { total: number; model: string } | undefined {
    const custom = this.custom.get(pricingId);
    const result = (custom && calcPrice(usage, model, { provider: custom })) ?? calcPrice(usage, model, { providerId: pricingId });
    return result ? { total: result.total_price, model: result.model.id } : undefined;
  }
}

function readUsage(pricingId: string, document: UsageDocument): Usage | undefined {
  const provider = findProvider({ providerId: pricingId });
  if (!provider) return undefined;
  try {
    return extractUsage(provider, document.doc, document.flavor).usage;
  } catch {
    // A required field (e.g. prompt_tokens) is missing: the response did not report usage.
    return undefined;
  }
}
