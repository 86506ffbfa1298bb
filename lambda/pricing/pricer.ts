import { calcPrice, findProvider, type ModelInfo, type ModelPrice, type PriceCalculationResult, type Provider, type Usage } from '@pydantic/genai-prices';
import type { UsageDocument } from '../formats/types';
import { MAX_REQUEST_NANOS, usdToNanos } from './money';
import { plainPriceTotal } from './plain-price';
import { genaiPricesProvider, usesGenaiPrices } from './pricing-id';
import { readUsage as readProviderUsage } from './usage-reader';

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
  /** Set when the usage claimed more output than the request allowed: what it claimed, before it was cut to the bound. */
  readonly reportedOutputTokens?: number;
}

/**
 * The provider and model genai-prices matched a model name to. A plain price is then computed
 * from the model's rates directly ({@link plainPriceTotal}); any other runs `calcPrice` against
 * a provider holding just that model: the same data, without scanning the provider's model list
 * (and lower-casing every pattern in it) on every call.
 */
type Match = { readonly provider: Provider; readonly model: ModelInfo } | undefined;

/**
 * No model's name is longer (the longest real ones, Bedrock ARNs and fine-tune ids, are about a
 * hundred characters). A longer name is no model: matching one costs time in proportion to its
 * length against every pattern, and remembering it costs its size.
 */
export const MAX_MODEL_NAME_LENGTH = 512;

/** Model names remembered per provider; a name no client has sent recently is dropped first. */
const MAX_MATCHES_PER_PROVIDER = 1_000;

/** Prices usage with operator prices first, then genai-prices' data. */
export class Pricer {
  private readonly custom = new Map<string, Provider>();
  /**
   * Keyed by the provider object genai-prices hands out: refreshed data (`updatePrices`) brings
   * new objects, so matches made against older data are never used again, and are collected.
   */
  private readonly matches = new WeakMap<Provider, Map<string, Match>>();

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
    const cached = this.calc({ input_tokens: inputTokens, cache_write_tokens: inputTokens, output_tokens: outputTokens }, pricingId, model);
    if (!cached) return undefined;
    // Usually the first calculation already is the dearer one, and a second would only confirm it.
    if (cacheWritesCostAtLeastInput(cached.price, inputTokens)) return Math.ceil(cached.total * 1e9);
    const plain = this.calc({ input_tokens: inputTokens, output_tokens: outputTokens }, pricingId, model);
    if (!plain) return undefined;
    return Math.ceil(Math.max(plain.total, cached.total) * 1e9);
  }

  /**
   * Reads the usage block with genai-prices' extractor for `pricingId` and prices it. Returns
   * undefined when either the usage or the price cannot be had: the caller decides what that means.
   * Never throws: whatever an upstream reports, the request must still be answered and settled.
   *
   * `outputBound` is the most output the request could produce (`n` × its `max_tokens`, …). A
   * provider cannot exceed it, so usage that claims more is wrong, and its output is priced at the
   * bound: an upstream reporting nonsense cannot charge a key past what the request could cost.
   * Usage priced above what any one request may cost ({@link MAX_REQUEST_NANOS}) is no price either.
   */
  price(pricingId: string, model: string, document: UsageDocument, outputBound?: number): PricedUsage | undefined {
    let usage = readUsage(pricingId, document);
    if (!usage) return undefined;
    const reported = usage['output_tokens'];
    const clamped = outputBound !== undefined && reported !== undefined && reported > outputBound;
    if (clamped) usage = clampOutput(usage, outputBound);
    try {
      const result = this.calc(usage, pricingId, model);
      if (!result) return undefined;
      const nanos = usdToNanos(result.total);
      // Usage no request can cost (400 billion output tokens, from a request with no output cap):
      // charged as a total too large to store would be, lest counters leave exact integers.
      if (nanos > MAX_REQUEST_NANOS) return undefined;
      return clamped ? { nanos, usage, model: result.model, reportedOutputTokens: reported } : { nanos, usage, model: result.model };
    } catch {
      // Usage genai-prices refuses (more cached tokens than prompt tokens, say) or a total too
      // large to store: as good as no usage. The caller charges the estimate.
      return undefined;
    }
  }

  private calc(usage: Usage, pricingId: string, model: string): Priced | undefined {
    // Never matched, so never remembered: a name an upstream reports goes through here unchecked.
    if (model.length > MAX_MODEL_NAME_LENGTH) return undefined;
    const custom = this.custom.get(pricingId);
    const own = custom && this.calcWith(custom, usage, model);
    if (own || !usesGenaiPrices(pricingId)) return own;
    return this.calcWith(undefined, usage, model, pricingId);
  }

  /** `calcPrice` against `custom`, or else the provider `pricingId` names in genai-prices' data. */
  private calcWith(custom: Provider | undefined, usage: Usage, model: string, pricingId = ''): Priced | undefined {
    // litellm ids name their provider inside the model name: left to calcPrice as they are.
    const provider = custom ?? (pricingId.toLowerCase() === 'litellm' ? undefined : findProvider({ providerId: pricingId }));
    if (!provider) return custom ? undefined : priced(calcPrice(usage, model, { providerId: pricingId }));
    let byModel = this.matches.get(provider);
    if (!byModel) {
      byModel = new Map();
      this.matches.set(provider, byModel);
    }
    if (byModel.has(model)) {
      const match = byModel.get(model);
      // Refresh its place, so the names in use are the last to go.
      byModel.delete(model);
      byModel.set(model, match);
      if (!match) return undefined;
      // A price that does not change with the time of the request, in per-token rates: no need for calcPrice.
      const prices = match.model.prices;
      if (!Array.isArray(prices)) {
        const total = plainPriceTotal(prices, usage);
        if (total !== undefined) return { total, model: match.model.id, price: prices };
      }
      return priced(calcPrice(usage, model, { provider: match.provider }));
    }
    const result = custom ? calcPrice(usage, model, { provider: custom }) : calcPrice(usage, model, { providerId: pricingId });
    if (byModel.size >= MAX_MATCHES_PER_PROVIDER) {
      const oldest = byModel.keys().next();
      if (!oldest.done) byModel.delete(oldest.value);
    }
    const { provider: found, model: matched } = result ?? {};
    byModel.set(model, found && matched ? { provider: { id: found.id, name: found.name, api_pattern: found.api_pattern, models: [matched] }, model: matched } : undefined);
    return priced(result);
  }
}

/** What the gateway uses of a calculation: the total, the model it matched, the price applied. */
interface Priced {
  readonly total: number;
  readonly model: string;
  readonly price: ModelPrice;
}

function priced(result: PriceCalculationResult): Priced | undefined {
  return result ? { total: result.total_price, model: result.model.id, price: result.model_price } : undefined;
}

/**
 * Whether pricing every input token as a cache write costs at least as much as pricing it as plain
 * input, at the tier `inputTokens` falls in. genai-prices sums the same terms either way except
 * that one: with no cache-write rate, cache writes are priced as plain input (the same total);
 * with a rate at least the input rate, every partial sum is at least as large.
 */
function cacheWritesCostAtLeastInput(price: ModelPrice, inputTokens: number): boolean {
  const cacheWrite = rateAt(price['cache_write_mtok'], inputTokens);
  const input = rateAt(price['input_mtok'], inputTokens);
  return cacheWrite === undefined || input === undefined || cacheWrite >= input;
}

/** The per-million rate genai-prices applies for `inputTokens` of input: the highest tier started below it. */
function rateAt(price: ModelPrice[string], inputTokens: number): number | undefined {
  if (price === undefined || typeof price === 'number') return price;
  let rate = price.base;
  let from = Number.NEGATIVE_INFINITY;
  for (const tier of price.tiers) {
    if (inputTokens > tier.start && tier.start >= from) {
      rate = tier.price;
      from = tier.start;
    }
  }
  return rate;
}

/** Every output count (`output_tokens` and its parts, such as `output_audio_tokens`) cut to `bound`. */
function clampOutput(usage: Usage, bound: number): Usage {
  const clamped: Usage = { ...usage };
  for (const field in clamped) {
    const value = clamped[field];
    if (field.startsWith('output_') && value !== undefined && value > bound) clamped[field] = bound;
  }
  return clamped;
}

/**
 * With the pricing provider's own extractor for the document's flavour; where it has none (an
 * OpenAI-compatible server priced as Together, whose data has no extractors, or an account priced
 * from the config alone), with the extractor of the provider whose shape the document has.
 */
function readUsage(pricingId: string, document: UsageDocument): Usage | undefined {
  if (document.extractorProvider !== undefined) {
    const named = findProvider({ providerId: document.extractorProvider });
    return named && readProviderUsage(named, document.doc, document.flavor);
  }
  const own = genaiPricesProvider(pricingId);
  const reads = own?.extractors?.some((extractor) => extractor.api_flavor === document.flavor) === true;
  const provider = reads || document.shapeOf === undefined ? own : findProvider({ providerId: document.shapeOf });
  return provider && readProviderUsage(provider, document.doc, document.flavor);
}
