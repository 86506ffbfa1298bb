import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { calcPrice, findProvider, waitForUpdate, type ModelInfo, type ModelPrice, type Provider, type Usage } from '@pydantic/genai-prices';
import { applyPriceData, requiredPricingIds } from '../../lambda/prices/apply';
import { plainPriceTotal } from '../../lambda/pricing/plain-price';
import { Pricer, type CustomPrice } from '../../lambda/pricing/pricer';
import { samplePriceData, withPrice } from '../prices/price-data';

/** Token counts of every shape the gateway prices, edge cases included (cache counts above the input are invalid). */
function usages(): Usage[] {
  const fixed: Usage[] = [
    {},
    { input_tokens: 0, output_tokens: 0 },
    { input_tokens: 1, output_tokens: 1 },
    { input_tokens: 2_006, cache_read_tokens: 1_920, output_tokens: 10 },
    { input_tokens: 1_000, cache_write_tokens: 1_000, output_tokens: 4_096 },
    { input_tokens: 4_822, cache_write_tokens: 1_200, cache_write_1h_tokens: 1_200, cache_read_tokens: 3_150, output_tokens: 37 },
    { input_tokens: 250_001, cache_read_tokens: 3, output_tokens: 64_000 },
    { input_tokens: 10, cache_read_tokens: 11, output_tokens: 1 },
    { cache_read_tokens: 5, output_tokens: 1 },
    { input_tokens: 10, cache_write_1h_tokens: 3, output_tokens: 1 },
    { input_tokens: 7, output_tokens: 3, input_audio_tokens: 2 },
    { cache_read_tokens: 0, input_audio_tokens: 0, input_tokens: 19, output_audio_tokens: 0, output_reasoning_tokens: 0, output_tokens: 10 },
    { input_tokens: 300, cache_read_tokens: 100, cache_audio_read_tokens: 20, input_image_tokens: 50, output_tokens: 90, output_reasoning_tokens: 60 },
    { input_tokens: 300, cache_write_tokens: 100, cache_write_5m_tokens: 40, cache_write_1h_tokens: 60, output_tokens: 9 },
    { cache_audio_read_tokens: 3, output_tokens: 1 },
    { input_tokens: 3, output_reasoning_tokens: 2 },
    { input_tokens: 3, output_tokens: 1, web_searches: 2 },
    { input_tokens: 7.5, output_tokens: 3 },
  ];
  // A fixed pseudo-random sample on top: same numbers every run.
  let seed = 42;
  const next = (max: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % max;
  };
  const random = Array.from({ length: 40 }, (): Usage => {
    const input = next(3_000_000);
    const read = next(2) ? next(input + 1) : undefined;
    const write = next(2) ? next(input - (read ?? 0) + 1) : undefined;
    return { input_tokens: input, ...(read !== undefined && { cache_read_tokens: read }), ...(write !== undefined && { cache_write_tokens: write }), output_tokens: next(200_000) };
  });
  return [...fixed, ...random];
}

function calcPriceTotal(price: ModelPrice, usage: Usage, model: ModelInfo): number | Error {
  // Matched by its id, whatever its own pattern says (some match only the names clients send).
  const provider: Provider = { id: 'test', name: 'test', api_pattern: '', models: [{ ...model, match: { equals: model.id }, prices: price }] };
  try {
    return calcPrice(usage, model.id, { provider })?.total_price ?? new Error('no price');
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

describe('plainPriceTotal', () => {
  it("equals calcPrice's total, to the last bit, for every plain price in genai-prices' data", async () => {
    // GIVEN every model of every provider in the bundled data, and usages of every shape
    const providers = (await waitForUpdate()) ?? [];
    let compared = 0;
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      for (const provider of providers) {
        for (const model of provider.models) {
          const prices = Array.isArray(model.prices) ? model.prices.map((p) => p.prices) : [model.prices];
          for (const price of prices) {
            for (const usage of usages()) {
              // WHEN the plain calculation takes it
              const plain = plainPriceTotal(price, usage);
              if (plain === undefined) continue;

              // THEN calcPrice agrees exactly (and does not refuse it)
              expect({ model: model.id, usage, total: calcPriceTotal(price, usage, model) }).toEqual({ model: model.id, usage, total: plain });
              compared++;
            }
          }
        }
      }
    } finally {
      warn.mockRestore();
    }
    // Most models have plain prices: a handful compared would mean the fast path stopped applying.
    expect(compared).toBeGreaterThan(5_000);
  });

  it('leaves to calcPrice what it does not cover', () => {
    const tiered = { input_mtok: { base: 3, tiers: [{ start: 200_000, price: 6 }] }, output_mtok: 15 } as unknown as ModelPrice;
    expect(plainPriceTotal(tiered, { input_tokens: 1, output_tokens: 1 })).toBeUndefined();
    expect(plainPriceTotal({ input_mtok: 1, output_mtok: 2, input_audio_mtok: 3 }, { input_tokens: 1 })).toBeUndefined();
    expect(plainPriceTotal({ input_mtok: 1, output_mtok: 2 }, { input_tokens: 1, web_searches: 1 })).toBeUndefined();
    expect(plainPriceTotal({ input_mtok: 1, output_mtok: 2 }, { input_tokens: 1.5 })).toBeUndefined();
    expect(plainPriceTotal({ cache_read_mtok: 1, output_mtok: 2 }, { input_tokens: 1 })).toBeUndefined();
    expect(plainPriceTotal({ input_mtok: 1, cache_read_mtok: 1 }, { input_tokens: 1, cache_read_tokens: 2 })).toBeUndefined();
  });
});

describe('Pricer', () => {
  /** What the Pricer computed before it cached anything: calcPrice against the provider id. */
  const reference = {
    estimate(pricingId: string, model: string, input: number, output: number): number | undefined {
      const plain = calcPrice({ input_tokens: input, output_tokens: output }, model, { providerId: pricingId });
      if (!plain) return undefined;
      const cached = calcPrice({ input_tokens: input, cache_write_tokens: input, output_tokens: output }, model, { providerId: pricingId });
      return Math.ceil(Math.max(plain.total_price, cached?.total_price ?? 0) * 1e9);
    },
    total: (pricingId: string, model: string, usage: Usage) => calcPrice(usage, model, { providerId: pricingId })?.total_price,
  };

  it('estimates and prices every model of every routed provider exactly as calcPrice does, first time and cached', () => {
    // GIVEN one pricer for all of them, so later calls take the cached paths
    const pricer = new Pricer();
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      for (const pricingId of requiredPricingIds()) {
        for (const { id } of findProvider({ providerId: pricingId })?.models ?? []) {
          for (const name of [id, ` ${id.toUpperCase()} `]) {
            for (const [input, output] of [
              [0, 0],
              [1_234, 4_096],
              [250_001, 64_000],
            ] as const) {
              // WHEN the same estimate is asked twice
              const first = pricer.estimate(pricingId, name, input, output);
              const again = pricer.estimate(pricingId, name, input, output);

              // THEN both are the reference estimate
              expect({ name, input, output, first, again }).toEqual({ name, input, output, first: reference.estimate(pricingId, name, input, output), again: reference.estimate(pricingId, name, input, output) });
            }
          }
        }
      }
    } finally {
      warn.mockRestore();
    }
  });

  it('uses refreshed price data as soon as it is applied', () => {
    // GIVEN a pricer that has already priced gpt-4o
    const pricer = new Pricer();
    const before = pricer.estimate('openai', 'gpt-4o', 1_000, 100);
    expect(before).toBe(reference.estimate('openai', 'gpt-4o', 1_000, 100));

    // WHEN the price data is replaced with a dearer gpt-4o
    applyPriceData(withPrice(samplePriceData(), 'openai', 'gpt-4o', { input_mtok: 100, output_mtok: 200 }));

    // THEN the next estimate uses the new price
    const after = pricer.estimate('openai', 'gpt-4o', 1_000, 100);
    expect(after).toBe(reference.estimate('openai', 'gpt-4o', 1_000, 100));
    expect(after).toBeGreaterThan(before ?? Infinity);
  });

  it('prices custom models first, and falls back to the data for the rest', () => {
    // GIVEN custom prices, one of them with cache writes cheaper than input
    const custom: CustomPrice[] = [
      { pricingId: 'openai', model: 'ft:gpt-4o-mini:acme::x1', prices: { input_mtok: 0.3, output_mtok: 1.2, cache_read_mtok: 0.15 } },
      { pricingId: 'anthropic', model: 'cheap-writes', prices: { input_mtok: 3, output_mtok: 15, cache_write_mtok: 1 } },
    ];
    const pricer = new Pricer(custom);
    const customProvider = (pricingId: string): Provider => ({
      id: pricingId,
      name: 'custom',
      api_pattern: '',
      models: custom.filter((c) => c.pricingId === pricingId).map((c) => ({ id: c.model, match: { equals: c.model }, prices: c.prices })),
    });
    const expected = (pricingId: string, model: string, usage: Usage) =>
      calcPrice(usage, model, { provider: customProvider(pricingId) })?.total_price ?? calcPrice(usage, model, { providerId: pricingId })?.total_price;

    for (const [pricingId, model] of [
      ['openai', 'ft:gpt-4o-mini:acme::x1'],
      ['anthropic', 'cheap-writes'],
      ['openai', 'gpt-4o-mini'],
    ] as const) {
      for (let call = 0; call < 2; call++) {
        // WHEN it estimates and prices them
        const estimate = pricer.estimate(pricingId, model, 1_234, 99);
        const priced = pricer.price(pricingId, model, { flavor: pricingId === 'openai' ? 'chat' : 'default', doc: { model, usage: { prompt_tokens: 100, completion_tokens: 5, input_tokens: 100, output_tokens: 5 } } });

        // THEN it matches calcPrice on the custom provider, then the data
        const plain = expected(pricingId, model, { input_tokens: 1_234, output_tokens: 99 }) ?? NaN;
        const cached = expected(pricingId, model, { input_tokens: 1_234, cache_write_tokens: 1_234, output_tokens: 99 }) ?? NaN;
        expect(estimate).toBe(Math.ceil(Math.max(plain, cached) * 1e9));
        expect(priced?.nanos).toBe(Math.round((expected(pricingId, model, priced?.usage ?? {}) ?? NaN) * 1e9));
      }
    }
  });

  it('knows no model whose name is longer than any model has, and keeps none of those names', () => {
    // GIVEN the names an upstream could report in a response (the gateway refuses them in requests)
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const pricer = new Pricer();
    gc();
    const before = process.memoryUsage().heapUsed;

    // WHEN it is asked about forty distinct 4 MB names
    const known = Array.from({ length: 40 }, (_, n) => pricer.knows('openai', `gpt-4o-${n}-${'x'.repeat(4 * 1024 * 1024)}`));

    // THEN none is known, and the 160 MB of names were not kept in its cache of matches
    expect(known.every((k) => !k)).toBe(true);
    gc();
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(32 * 1024 * 1024);
    expect(pricer.knows('openai', 'gpt-4o')).toBe(true);
  });
});
