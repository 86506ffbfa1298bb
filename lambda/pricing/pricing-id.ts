import { findProvider, type Provider } from '@pydantic/genai-prices';

/**
 * A pricing id names either a provider in genai-prices' data (`openai`, `together`), whose models
 * the config's custom prices for it extend, or one account's own price list (see
 * {@link accountPricingId}), which only the config's prices fill.
 */
const ACCOUNT_PREFIX = 'account:';

/**
 * The pricing id of an account priced from the config alone, for its custom prices to be keyed by.
 *
 * @example
 * accountPricingId('vllm'); // 'account:vllm': `{"prices": [{"provider": "vllm", …}]}` price its models
 */
export function accountPricingId(account: string): string {
  return `${ACCOUNT_PREFIX}${account}`;
}

/**
 * The genai-prices provider a pricing id names, if any. genai-prices matches provider ids loosely
 * (any id containing "openai" finds OpenAI), so an account's own id must never reach it: its
 * models would be priced as another provider's.
 */
export function genaiPricesProvider(pricingId: string): Provider | undefined {
  return pricingId.startsWith(ACCOUNT_PREFIX) ? undefined : findProvider({ providerId: pricingId });
}

/** Whether genai-prices' data is consulted for this id at all. */
export function usesGenaiPrices(pricingId: string): boolean {
  return !pricingId.startsWith(ACCOUNT_PREFIX);
}
