import type { Provider } from '@pydantic/genai-prices';

/** What a candidate price file turned out to be. */
export type PriceDataVerdict =
  | { readonly ok: true; readonly providers: Provider[]; readonly models: number }
  | { readonly ok: false; readonly reason: string };

/** No price unit we know of costs this much; a larger number is a unit or decimal-point slip. */
const MAX_PRICE_USD = 100_000;

/**
 * Checks genai-prices data before anything uses it: the shape `calcPrice` relies on, every price
 * a finite non-negative number (or a tiered price made of them), and every provider tollgate
 * routes to present with models and usage extractors (without extractors no response can be
 * metered). The first problem found is reported with its path, e.g.
 * `[4].models[12].prices.input_mtok: must be a finite number from 0 to 100000`.
 *
 * @example
 * const verdict = validatePriceData(JSON.parse(text), ['openai', 'anthropic']);
 * if (!verdict.ok) throw new Error(verdict.reason);
 */
export function validatePriceData(raw: unknown, requiredProviders: readonly string[]): PriceDataVerdict {
  try {
    const providers = checkProviders(raw);
    for (const id of requiredProviders) {
      const provider = providers.find((candidate) => candidate.id === id);
      if (!provider) throw new Invalid(`provider "${id}" is missing (tollgate routes requests to it)`);
      if (provider.models.length === 0) throw new Invalid(`provider "${id}" has no models`);
      if (!provider.extractors || provider.extractors.length === 0) throw new Invalid(`provider "${id}" has no usage extractors`);
    }
    return { ok: true, providers, models: providers.reduce((sum, provider) => sum + provider.models.length, 0) };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, reason: error.message };
    throw error;
  }
}

/** Parses then validates; bytes that are not JSON are one more way to be invalid. */
export function parsePriceData(bytes: Uint8Array, requiredProviders: readonly string[]): PriceDataVerdict {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    return { ok: false, reason: `not JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  return validatePriceData(raw, requiredProviders);
}

class Invalid extends Error {}

function checkProviders(raw: unknown): Provider[] {
  if (!Array.isArray(raw)) throw new Invalid(`(root): must be an array of providers, got ${kind(raw)}`);
  if (raw.length === 0) throw new Invalid('(root): no providers');
  const seen = new Set<string>();
  raw.forEach((provider: unknown, index) => {
    const at = `[${index}]`;
    const record = object(provider, at);
    const id = string(record['id'], `${at}.id`);
    if (seen.has(id)) throw new Invalid(`${at}.id: provider "${id}" appears twice`);
    seen.add(id);
    string(record['name'], `${at}.name`);
    string(record['api_pattern'], `${at}.api_pattern`, true);
    if (record['extractors'] !== undefined && !Array.isArray(record['extractors'])) throw new Invalid(`${at}.extractors: must be an array`);
    const models = record['models'];
    if (!Array.isArray(models)) throw new Invalid(`${at}.models: must be an array, got ${kind(models)}`);
    models.forEach((model: unknown, m) => checkModel(model, `${at}.models[${m}]`));
  });
  // Every member calcPrice reads has just been checked.
  return raw as Provider[];
}

function checkModel(raw: unknown, at: string): void {
  const model = object(raw, at);
  string(model['id'], `${at}.id`);
  object(model['match'], `${at}.match`);
  const prices = model['prices'];
  if (!Array.isArray(prices)) return checkPrices(prices, `${at}.prices`);
  if (prices.length === 0) throw new Invalid(`${at}.prices: no prices`);
  prices.forEach((conditional: unknown, index) => {
    const entry = object(conditional, `${at}.prices[${index}]`);
    if (entry['constraint'] !== undefined) object(entry['constraint'], `${at}.prices[${index}].constraint`);
    checkPrices(entry['prices'], `${at}.prices[${index}].prices`);
  });
}

function checkPrices(raw: unknown, at: string): void {
  const prices = object(raw, at);
  for (const [unit, value] of Object.entries(prices)) {
    if (value === undefined || value === null) continue;
    if (typeof value === 'number') {
      price(value, `${at}.${unit}`);
      continue;
    }
    const tiered = object(value, `${at}.${unit}`);
    price(tiered['base'], `${at}.${unit}.base`);
    const tiers = tiered['tiers'];
    if (!Array.isArray(tiers)) throw new Invalid(`${at}.${unit}.tiers: must be an array`);
    tiers.forEach((tier: unknown, index) => {
      const entry = object(tier, `${at}.${unit}.tiers[${index}]`);
      price(entry['start'], `${at}.${unit}.tiers[${index}].start`, Number.MAX_SAFE_INTEGER);
      price(entry['price'], `${at}.${unit}.tiers[${index}].price`);
    });
  }
}

function price(value: unknown, at: string, max = MAX_PRICE_USD): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max) {
    throw new Invalid(`${at}: must be a finite number from 0 to ${max}, got ${typeof value === 'number' ? value : kind(value)}`);
  }
}

function object(value: unknown, at: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Invalid(`${at}: must be an object, got ${kind(value)}`);
  return value as Record<string, unknown>;
}

function string(value: unknown, at: string, allowEmpty = false): string {
  if (typeof value !== 'string' || (!allowEmpty && value === '')) throw new Invalid(`${at}: must be a ${allowEmpty ? '' : 'non-empty '}string, got ${kind(value)}`);
  return value;
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)?.slice(0, 40)}`;
}
