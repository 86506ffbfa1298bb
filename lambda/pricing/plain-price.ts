import type { ModelPrice, Usage } from '@pydantic/genai-prices';

/**
 * genai-prices' `calcPrice` total, for the prices most models have — fixed per-token rates for
 * input, output, cache reads and writes (plus tool-call rates that token usage leaves at zero) —
 * without the work `calcPrice` repeats on every call to check the price's units against each
 * other (sets, sorts and JSON keys: ~25–38 KB of garbage per call, which was the gateway's largest
 * source of allocation under load). The caller has already matched the model.
 *
 * It is the same arithmetic in the same order, so the totals are the same floating-point numbers:
 * each unit's count is what genai-prices calls its leaf (its usage minus that of its priced,
 * more specific units), each term is `rate * count / per`, and terms are summed per direction in
 * the price's own key order, then input + output + other. Anything else — tiers, other units,
 * usage it does not know, usage genai-prices would refuse — returns undefined, and the caller
 * asks `calcPrice`. Time-dependent prices (a list of prices) never reach it. Price objects are
 * taken as immutable: what is worked out from one is kept with it.
 * `test/pricing/pricer.test.ts` compares the two over every model in genai-prices' data.
 *
 * @example
 * plainPriceTotal({ input_mtok: 0.15, cache_read_mtok: 0.075, output_mtok: 0.6 }, { input_tokens: 2006, cache_read_tokens: 1920, output_tokens: 10 });
 * // the same number as calcPrice(...).total_price for that model and usage
 */
export function plainPriceTotal(price: ModelPrice, usage: Usage): number | undefined {
  const plan = planOf(price);
  if (!plan) return undefined;
  for (const key in usage) {
    const value = usage[key];
    if (value !== undefined && (!USAGE_KEYS.has(key) || !Number.isSafeInteger(value) || value < 0)) return undefined;
  }
  // Leaves by position in plan.byDepth: the most specific first, so those below are known.
  const leaves: number[] = [];
  for (const { unit, below } of plan.byDepth) {
    const reported = usage[unit.usageKey];
    // A missing count is zero, unless a more specific count was reported: genai-prices refuses that.
    if (reported === undefined && unit.descendants.some((key) => (usage[key] ?? 0) > 0)) return undefined;
    // Less what its priced, more specific units count; detail that has no price of its own stays in.
    let count = reported ?? 0;
    for (const index of below) count -= leaves[index] as number;
    if (count < 0) return undefined; // more specific usage exceeds its total: genai-prices refuses that too
    leaves.push(count);
  }
  let input = 0;
  let output = 0;
  let other = 0;
  for (const term of plan.terms) {
    const amount = (term.rate * (leaves[term.leaf] as number)) / term.unit.per;
    if (term.unit.direction === 'input') input += amount;
    else if (term.unit.direction === 'output') output += amount;
    else other += amount;
  }
  return input + output + other;
}

interface Unit {
  readonly usageKey: string;
  readonly priceKey: string;
  readonly per: number;
  readonly direction: 'input' | 'output' | undefined;
  /** genai-prices' dimension count, which orders the leaf computation. */
  readonly depth: number;
  /** The usage keys below that are more specific than this unit (their dimensions include all of its). */
  readonly descendants: readonly string[];
  /** Price keys that must be priced too when this one is: genai-prices refuses the price otherwise. */
  readonly requires: readonly string[];
}

/** Token counts genai-prices' extractors report beyond the priced units below, by the unit they refine. */
const INPUT_DETAIL = ['input_text_tokens', 'input_audio_tokens', 'input_image_tokens', 'input_video_tokens', 'input_tool_tokens', 'input_text_tool_tokens', 'input_audio_tool_tokens', 'input_image_tool_tokens', 'input_video_tool_tokens'];
const CACHE_READ_DETAIL = ['cache_text_read_tokens', 'cache_audio_read_tokens', 'cache_image_read_tokens', 'cache_video_read_tokens'];
const CACHE_WRITE_DETAIL = ['cache_write_5m_tokens'];
const OUTPUT_DETAIL = ['output_text_tokens', 'output_audio_tokens', 'output_image_tokens', 'output_video_tokens', 'output_reasoning_tokens'];

/**
 * The units this prices, as genai-prices defines them (dimensions in comments). No two of them
 * overlap without one containing the other, so none needs a join price; and no two token counts
 * combine into one of them, so a missing count is zero unless a more specific one is reported.
 */
const UNITS: readonly Unit[] = [
  // direction: input, family: tokens
  {
    usageKey: 'input_tokens',
    priceKey: 'input_mtok',
    per: 1e6,
    direction: 'input',
    depth: 2,
    descendants: ['cache_read_tokens', 'cache_write_tokens', 'cache_write_1h_tokens', ...INPUT_DETAIL, ...CACHE_READ_DETAIL, ...CACHE_WRITE_DETAIL],
    requires: [],
  },
  // + token_type: cache_read
  { usageKey: 'cache_read_tokens', priceKey: 'cache_read_mtok', per: 1e6, direction: 'input', depth: 3, descendants: CACHE_READ_DETAIL, requires: ['input_mtok'] },
  // + token_type: cache_write
  { usageKey: 'cache_write_tokens', priceKey: 'cache_write_mtok', per: 1e6, direction: 'input', depth: 3, descendants: ['cache_write_1h_tokens', ...CACHE_WRITE_DETAIL], requires: ['input_mtok'] },
  // + token_type: cache_write, cache_ttl: 1h
  { usageKey: 'cache_write_1h_tokens', priceKey: 'cache_write_1h_mtok', per: 1e6, direction: 'input', depth: 4, descendants: [], requires: ['input_mtok', 'cache_write_mtok'] },
  // direction: output, family: tokens
  { usageKey: 'output_tokens', priceKey: 'output_mtok', per: 1e6, direction: 'output', depth: 2, descendants: OUTPUT_DETAIL, requires: [] },
  // family: tool_calls, tool_type: web_search / storage_search
  { usageKey: 'web_searches', priceKey: 'web_searches_kcount', per: 1e3, direction: undefined, depth: 2, descendants: [], requires: [] },
  { usageKey: 'storage_searches', priceKey: 'storage_searches_kcount', per: 1e3, direction: undefined, depth: 2, descendants: [], requires: [] },
];

const UNIT_BY_PRICE_KEY = new Map(UNITS.map((unit) => [unit.priceKey, unit]));
/** Usage this prices: token counts only (a search count would need its own rules checked). */
const USAGE_KEYS = new Set([
  'input_tokens',
  'cache_read_tokens',
  'cache_write_tokens',
  'cache_write_1h_tokens',
  'output_tokens',
  ...INPUT_DETAIL,
  ...CACHE_READ_DETAIL,
  ...CACHE_WRITE_DETAIL,
  ...OUTPUT_DETAIL,
]);

interface Plan {
  /** One per priced key, in the price's key order: the order genai-prices sums them in. `leaf`: its unit's place in `byDepth`. */
  readonly terms: readonly { readonly unit: Unit; readonly rate: number; readonly leaf: number }[];
  /**
   * The priced units, most specific first (ties by usage key), as genai-prices computes leaves;
   * `below`: the places of the priced units more specific than each (all earlier in the list).
   */
  readonly byDepth: readonly { readonly unit: Unit; readonly below: readonly number[] }[];
}

/** Per price object: genai-prices replaces them when its data is refreshed, so plans never go stale. */
const plans = new WeakMap<ModelPrice, Plan | null>();

function planOf(price: ModelPrice): Plan | undefined {
  let plan = plans.get(price);
  if (plan === undefined) {
    plan = makePlan(price);
    plans.set(price, plan);
  }
  return plan ?? undefined;
}

function makePlan(price: ModelPrice): Plan | null {
  const terms: { unit: Unit; rate: number }[] = [];
  for (const [key, rate] of Object.entries(price)) {
    if (rate === undefined) continue;
    const unit = UNIT_BY_PRICE_KEY.get(key);
    if (!unit || typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0) return null;
    terms.push({ unit, rate });
  }
  const priced = new Set(terms.map((term) => term.unit.priceKey));
  if (terms.some((term) => term.unit.requires.some((key) => !priced.has(key)))) return null;
  const units = terms.map((term) => term.unit).sort((a, b) => b.depth - a.depth || a.usageKey.localeCompare(b.usageKey));
  const byDepth = units.map((unit, at) => ({
    unit,
    below: units.flatMap((other, index) => (index < at && unit.descendants.includes(other.usageKey) ? [index] : [])),
  }));
  return { terms: terms.map((term) => ({ ...term, leaf: units.indexOf(term.unit) })), byDepth };
}
