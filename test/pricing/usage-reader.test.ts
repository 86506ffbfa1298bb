import { extractUsage, findProvider, waitForUpdate, type Provider, type Usage, type UsageExtractor } from '@pydantic/genai-prices';
import { readUsage } from '../../lambda/pricing/usage-reader';

/** What the gateway took from genai-prices before: its extractor, undefined where it throws. */
function reference(provider: Provider, doc: unknown, flavor: string): Usage | undefined {
  try {
    return extractUsage(provider, doc, flavor).usage;
  } catch {
    return undefined;
  }
}

/** A small deterministic generator, so a failure names a seed that reproduces it. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Property names only; array-match steps (Google's per-modality details) are left as objects the walk cannot enter. */
function steps(path: UsageExtractor['root']): (string | object)[] {
  return Array.isArray(path) ? path : [path];
}

const ODD_VALUES: unknown[] = [null, 'twelve', -3, 1.5, 0, {}, [], [4], true, Number.MAX_SAFE_INTEGER, 1e308, Number.MAX_VALUE];

/**
 * A document shaped like the extractor's responses, each path present, missing, or holding an
 * odd value along the way: what an upstream may really send, and what an attacker might.
 */
function documentFor(extractor: UsageExtractor, next: () => number): unknown {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const top: Record<string, unknown> = {};
  const set = (path: (string | object)[], value: unknown) => {
    let at: Record<string, unknown> = top;
    for (const [index, step] of path.entries()) {
      if (typeof step !== 'string') return;
      if (index === path.length - 1) {
        at[step] = value;
        return;
      }
      const existing = at[step];
      if (typeof existing === 'object' && existing !== null && !Array.isArray(existing)) at = existing as Record<string, unknown>;
      else if (next() < 0.1) {
        at[step] = pick(ODD_VALUES);
        return;
      } else at = at[step] = {};
    }
  };
  const root = steps(extractor.root);
  if (next() < 0.05) return pick(ODD_VALUES);
  if (next() < 0.05) {
    set(root, pick(ODD_VALUES));
    return top;
  }
  set([...root, 'untouched'], 1);
  for (const mapping of extractor.mappings) {
    const roll = next();
    if (roll < 0.2) continue;
    set([...root, ...steps(mapping.path)], roll < 0.3 ? pick(ODD_VALUES) : Math.floor(next() * 100_000));
  }
  return top;
}

describe('usage read from response documents', () => {
  it("equals genai-prices' extractUsage for every extractor in its data, on thousands of documents", async () => {
    // GIVEN every provider's extractors, and documents with usage present, partial, missing and malformed
    const providers = (await waitForUpdate()) ?? [];
    const withExtractors = providers.filter((provider) => (provider.extractors?.length ?? 0) > 0);
    expect(withExtractors.map((provider) => provider.id)).toEqual(expect.arrayContaining(['openai', 'anthropic', 'groq', 'google', 'aws']));
    let compared = 0;
    let priced = 0;
    for (const provider of withExtractors) {
      for (const extractor of provider.extractors ?? []) {
        const next = random(compared + 1);
        for (let i = 0; i < 400; i++) {
          const doc = documentFor(extractor, next);
          // WHEN both read it
          const expected = reference(provider, doc, extractor.api_flavor);
          const actual = readUsage(provider, doc, extractor.api_flavor);
          // THEN they agree: the same keys, in the same order, with the same values, or both nothing
          expect({ provider: provider.id, flavor: extractor.api_flavor, doc, usage: actual && Object.entries(actual) }).toEqual({
            provider: provider.id,
            flavor: extractor.api_flavor,
            doc,
            usage: expected && Object.entries(expected),
          });
          compared++;
          if (expected) priced++;
        }
      }
    }
    // Both outcomes were exercised, often.
    expect(priced).toBeGreaterThan(compared / 4);
    expect(compared - priced).toBeGreaterThan(compared / 10);
  });

  it('reads an OpenAI chat usage block, cache and reasoning details included', () => {
    const openai = findProvider({ providerId: 'openai' }) as Provider;
    const doc = {
      model: 'gpt-4o-mini',
      usage: { prompt_tokens: 2006, completion_tokens: 300, prompt_tokens_details: { cached_tokens: 1920 }, completion_tokens_details: { reasoning_tokens: 256 } },
    };
    expect(readUsage(openai, doc, 'chat')).toEqual({ input_tokens: 2006, cache_read_tokens: 1920, output_tokens: 300, output_reasoning_tokens: 256 });
    expect(readUsage(openai, { usage: { completion_tokens: 3 } }, 'chat')).toBeUndefined();
    expect(readUsage(openai, { usage: { prompt_tokens: -1, completion_tokens: 3 } }, 'chat')).toBeUndefined();
    expect(readUsage(openai, doc, 'no-such-flavor')).toBeUndefined();
  });

  it('refuses counts that add up past the largest number, as extractUsage does', () => {
    const anthropic = findProvider({ providerId: 'anthropic' }) as Provider;
    const doc = { usage: { input_tokens: 1e308, cache_creation_input_tokens: 1e308, output_tokens: 10 } };
    expect(reference(anthropic, doc, 'default')).toBeUndefined();
    expect(readUsage(anthropic, doc, 'default')).toBeUndefined();
  });
});
