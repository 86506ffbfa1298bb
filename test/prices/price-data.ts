import { findProvider, type Provider } from '@pydantic/genai-prices';
import { requiredPricingIds } from '../../lambda/prices/apply';

/**
 * A valid price file built from genai-prices' bundled data: every provider tollgate routes to,
 * with their real models and extractors. Deep-copied, so tests can edit it freely.
 */
export function samplePriceData(): Provider[] {
  return requiredPricingIds().map((id) => {
    const provider = findProvider({ providerId: id });
    if (!provider) throw new Error(`genai-prices has no provider ${id}`);
    return structuredClone(provider);
  });
}

/** The same data with one model's input and output price replaced, so a test can tell which data priced a request. */
export function withPrice(data: Provider[], providerId: string, modelId: string, prices: { input_mtok: number; output_mtok: number }): Provider[] {
  const copy = structuredClone(data);
  const model = copy.find((p) => p.id === providerId)?.models.find((m) => m.id === modelId);
  if (!model) throw new Error(`no model ${providerId}/${modelId} in the sample data`);
  model.prices = { ...prices };
  return copy;
}
