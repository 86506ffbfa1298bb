import type { Provider } from '@pydantic/genai-prices';
import { requiredPricingIds } from '../../lambda/prices/apply';
import { parsePriceData, validatePriceData } from '../../lambda/prices/validate';
import { samplePriceData } from './price-data';

const required = requiredPricingIds();

/** The sample with one edit applied, for the cases below. */
function edited(edit: (data: Provider[]) => void): unknown {
  const data = samplePriceData();
  edit(data);
  return data;
}

describe('validatePriceData', () => {
  it('accepts genai-prices data that prices every provider tollgate routes to', () => {
    // WHEN
    const verdict = validatePriceData(samplePriceData(), required);

    // THEN
    expect(verdict.ok).toBe(true);
    if (verdict.ok) {
      expect(verdict.providers.map((p) => p.id).sort()).toEqual(required);
      expect(verdict.models).toBeGreaterThan(100);
    }
  });

  it.each<[string, unknown, RegExp]>([
    ['not an array', { providers: [] }, /^\(root\): must be an array of providers, got an object/],
    ['no providers', [], /^\(root\): no providers/],
    ['a required provider missing', edited((d) => d.splice(d.findIndex((p) => p.id === 'openai'), 1)), /provider "openai" is missing/],
    ['a provider without extractors', edited((d) => delete d.find((p) => p.id === 'openai')!.extractors), /provider "openai" has no usage extractors/],
    ['a negative price', edited((d) => (d[0]!.models[0]!.prices = { input_mtok: -1, output_mtok: 2 })), /^\[0\]\.models\[0\]\.prices\.input_mtok: must be a finite number from 0 to 100000, got -1/],
    ['a price given as text', edited((d) => (d[0]!.models[0]!.prices = { input_mtok: '3' as unknown as number })), /prices\.input_mtok: .*got string "3"/],
    ['an absurd price', edited((d) => (d[0]!.models[0]!.prices = { input_mtok: 3e9 })), /must be a finite number from 0 to 100000, got 3000000000/],
    ['a tier without a price', edited((d) => (d[0]!.models[0]!.prices = { input_mtok: { base: 1, tiers: [{ start: 200000 }] } as never })), /tiers\[0\]\.price: must be a finite number/],
    ['an empty conditional price list', edited((d) => (d[0]!.models[0]!.prices = [] as never)), /\.prices: no prices/],
    ['a model without a match', edited((d) => delete (d[0]!.models[0] as { match?: unknown }).match), /\.match: must be an object, got undefined/],
    ['a duplicated provider', edited((d) => d.push(structuredClone(d[0]!))), /appears twice/],
  ])('rejects %s, saying where', (_case, data, reason) => {
    // WHEN
    const verdict = validatePriceData(data, required);

    // THEN
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.reason).toMatch(reason);
  });

  it('rejects bytes that are not JSON', () => {
    // WHEN
    const verdict = parsePriceData(Buffer.from('<html>rate limited</html>'), required);

    // THEN
    expect(verdict).toMatchObject({ ok: false, reason: expect.stringMatching(/^not JSON/) });
  });
});
