import type { CustomPrice } from './pricer';
import { genaiPricesProvider } from './pricing-id';

/**
 * The models of one provider that tollgate can price: genai-prices' data (as last refreshed)
 * plus the operator's custom prices. Sorted, without duplicates.
 */
export function pricedModels(pricingId: string, custom: readonly CustomPrice[]): string[] {
  const known = genaiPricesProvider(pricingId)?.models.filter((model) => !model.deprecated).map((model) => model.id) ?? [];
  const added = custom.filter((price) => price.pricingId === pricingId).map((price) => price.model);
  return [...new Set([...known, ...added])].sort();
}
