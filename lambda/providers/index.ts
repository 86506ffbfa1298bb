import { anthropicFormat } from '../formats/anthropic';
import { bedrockFormat } from '../formats/bedrock';
import { groqFormat } from '../formats/groq';
import { geminiFormat } from '../formats/gemini';
import { openaiFormat } from '../formats/openai';
import type { FormatId, WireFormat } from '../formats/types';
import { anthropic } from './anthropic';
import { bedrock } from './bedrock';
import { groq } from './groq';
import { googleVertex } from './google-vertex';
import { openai } from './openai';
import type { FormatBinding, ProviderAdapter, ProviderId } from './types';

/**
 * Exhaustive: a new ProviderId does not compile until its adapter is registered here.
 * `unknown` options: each adapter validates and reads its own.
 */
export const PROVIDERS: Readonly<Record<ProviderId, ProviderAdapter<unknown>>> = {
  openai,
  anthropic,
  groq,
  'google-vertex': googleVertex,
  bedrock,
};

export const FORMATS: Readonly<Record<FormatId, WireFormat>> = {
  openai: openaiFormat,
  anthropic: anthropicFormat,
  groq: groqFormat,
  gemini: geminiFormat,
  bedrock: bedrockFormat,
};

export const PROVIDER_IDS = Object.keys(PROVIDERS) as ProviderId[];

export function isProviderId(value: string): value is ProviderId {
  return Object.hasOwn(PROVIDERS, value);
}

/** The formats a kind serves, its primary one first. */
export function formatsOf(adapter: ProviderAdapter<unknown>): FormatId[] {
  return [adapter.format, ...(adapter.alsoServes ?? []).map((binding) => binding.format)];
}

/** Every way a kind serves a format, its primary format first: the order paths are offered to them. */
export function bindingsOf(adapter: ProviderAdapter<unknown>): readonly FormatBinding<unknown>[] {
  const cached = BINDINGS.get(adapter);
  if (cached) return cached;
  const primary: FormatBinding<unknown> = { format: adapter.format, pricingId: adapter.pricingId };
  const all = [primary, ...(adapter.alsoServes ?? [])];
  BINDINGS.set(adapter, all);
  return all;
}

const BINDINGS = new WeakMap<ProviderAdapter<unknown>, readonly FormatBinding<unknown>[]>();
