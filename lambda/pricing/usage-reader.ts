import { extractUsage, type Provider, type Usage, type UsageExtractor } from '@pydantic/genai-prices';

/**
 * genai-prices' `extractUsage(provider, doc, flavor).usage`, or undefined where it throws, at a
 * tenth of the cost: `extractUsage` re-validates the provider's whole extractor list and copies
 * every path on each call (~1.9 µs per response). Here each extractor is turned once into plain
 * property walks. Which mappings count and in what order the keys come out are learned by asking
 * `extractUsage` itself about a probe document, not restated. Paths that pick array items by
 * matching a field (Google's per-modality details) keep going through `extractUsage`.
 * `test/pricing/usage-reader.test.ts` compares the two on random documents for every extractor.
 */
export function readUsage(provider: Provider, doc: unknown, flavor: string): Usage | undefined {
  let byFlavor = compiled.get(provider);
  if (!byFlavor) compiled.set(provider, (byFlavor = new Map()));
  let read = byFlavor.get(flavor);
  if (read === undefined) byFlavor.set(flavor, (read = compile(provider, flavor)));
  return read(doc);
}

type Reader = (doc: unknown) => Usage | undefined;

/** Per provider object: refreshed price data brings new objects, and the old readers go with them. */
const compiled = new WeakMap<Provider, Map<string, Reader>>();

interface Mapping {
  readonly steps: readonly string[];
  readonly dest: string;
  readonly required: boolean;
}

function compile(provider: Provider, flavor: string): Reader {
  const generic: Reader = (doc) => {
    try {
      return extractUsage(provider, doc, flavor).usage;
    } catch {
      // A required field (e.g. prompt_tokens) is missing: the response did not report usage.
      return undefined;
    }
  };
  const extractor = provider.extractors?.find((candidate) => candidate.api_flavor === flavor);
  const root = extractor && stringSteps(extractor.root);
  if (!extractor || !root || root.length === 0) return generic;
  const mappings: Mapping[] = [];
  for (const mapping of extractor.mappings) {
    const steps = stringSteps(mapping.path);
    if (!steps || steps.length === 0) return generic;
    mappings.push({ steps, dest: mapping.dest, required: mapping.required });
  }
  // Every path set, each to a value of its own: extractUsage returns exactly the destinations it
  // counts (it skips those its pricing does not know), in the order it always returns them.
  const probe = document(root, mappings);
  // A path that runs through another's number could not be set: keep the generic path.
  if (!mappings.every((mapping) => typeof walk(walk(probe, root), mapping.steps) === 'number')) return generic;
  const full = generic(probe);
  if (!full) return generic;
  const order = Object.keys(full);
  const fast = plainReader(root, mappings.filter((mapping) => order.includes(mapping.dest)), order);
  return sameUsage(fast(probe), full) ? fast : generic;
}

/** The walk `extractUsage` makes, for an extractor whose paths are property names only. */
function plainReader(root: readonly string[], counted: readonly Mapping[], order: readonly string[]): Reader {
  return (doc) => {
    const container = walk(doc, root);
    if (!isMapping(container)) return undefined;
    const sums = new Map<string, number>();
    for (const mapping of counted) {
      const value = walk(container, mapping.steps);
      if (typeof value !== 'number') {
        if (mapping.required) return undefined;
        continue;
      }
      if (!Number.isFinite(value) || value < 0) return undefined;
      sums.set(mapping.dest, (sums.get(mapping.dest) ?? 0) + value);
    }
    if (counted.length > 0 && sums.size === 0) return undefined;
    const usage: Usage = {};
    for (const key of order) {
      const value = sums.get(key);
      if (value === undefined) continue;
      // Finite counts can add up past the largest number: extractUsage refuses the sum then.
      if (!Number.isFinite(value)) return undefined;
      usage[key] = value;
    }
    return usage;
  };
}

function sameUsage(a: Usage | undefined, b: Usage): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

/** A document with every mapping's path set, the n-th to 2^n (sums of distinct paths stay distinct). */
function document(root: readonly string[], mappings: readonly Mapping[]): Record<string, unknown> {
  const top: Record<string, unknown> = {};
  const container = ensure(top, root);
  mappings.forEach((mapping, index) => {
    const parent = ensure(container, mapping.steps.slice(0, -1));
    parent[mapping.steps[mapping.steps.length - 1] as string] = 2 ** index;
  });
  return top;
}

function ensure(start: Record<string, unknown>, steps: readonly string[]): Record<string, unknown> {
  let at = start;
  for (const step of steps) {
    const next = at[step];
    if (isMapping(next)) at = next;
    else at = at[step] = {};
  }
  return at;
}

/** A path of property names only; undefined if it picks array items by a field's value. */
function stringSteps(path: UsageExtractor['root']): string[] | undefined {
  const steps = Array.isArray(path) ? path : [path];
  return steps.every((step): step is string => typeof step === 'string') ? steps : undefined;
}

/** Follows `steps` through mappings (objects that are not arrays); undefined where one is missing. */
function walk(from: unknown, steps: readonly string[]): unknown {
  let at = from;
  for (const step of steps) {
    if (!isMapping(at)) return undefined;
    at = at[step];
  }
  return at;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
