import { anthropicFormat } from '../formats/anthropic';
import { bedrockFormat } from '../formats/bedrock';
import { groqFormat } from '../formats/groq';
import { geminiFormat } from '../formats/gemini';
import { openaiFormat } from '../formats/openai';
import type { FormatId, WireFormat } from '../formats/types';
import { anthropic } from './anthropic';
import { azureOpenai } from './azure-openai';
import { bedrock } from './bedrock';
import { googleGla } from './google-gla';
import { groq } from './groq';
import { googleVertex } from './google-vertex';
import { openai } from './openai';
import { openaiCompatible } from './openai-compatible';
import type { FormatBinding, HostedProviderId, ProviderAdapter, ProviderId } from './types';

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
  'google-gla': googleGla,
  'azure-openai': azureOpenai,
  'openai-compatible': openaiCompatible,
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

/** Exhaustive, and checked against the `HostedProviderId` type: a new kind says which it is. */
const HOSTED: { readonly [Kind in ProviderId]: Kind extends HostedProviderId ? true : false } = {
  openai: true,
  anthropic: true,
  groq: true,
  'google-vertex': true,
  bedrock: true,
  'google-gla': true,
  'azure-openai': false,
  'openai-compatible': false,
};

/** Whether a kind has a well-known host, and so an account named after it with no configuration. */
export function isHosted(kind: ProviderId): kind is HostedProviderId {
  return HOSTED[kind];
}

/** The kinds every gateway has an account of, configured or not. */
export const HOSTED_PROVIDER_IDS: readonly HostedProviderId[] = PROVIDER_IDS.filter(isHosted);

/**
 * The pricing id of requests an account serves through `binding` (by default its kind's primary
 * format): the account's own where its kind lets the account decide, else the binding's.
 */
export function pricingIdOf(account: { readonly name: string; readonly kind: ProviderId; readonly options: unknown }, binding?: FormatBinding<unknown>): string {
  const adapter = PROVIDERS[account.kind];
  return adapter.pricingIdFor?.(account.name, account.options) ?? binding?.pricingId ?? adapter.pricingId;
}

/** The formats a kind serves, its primary one first. */
export function formatsOf(adapter: ProviderAdapter<unknown>): FormatId[] {
  return [adapter.format, ...(adapter.alsoServes ?? []).map((binding) => binding.format)];
}

/** Every way a kind serves a format, its primary format first: the order paths are offered to them. */
export function bindingsOf(adapter: ProviderAdapter<unknown>): readonly FormatBinding<unknown>[] {
  const cached = BINDINGS.get(adapter);
  if (cached) return cached;
  const primary: FormatBinding<unknown> = { ...adapter.serves, format: adapter.format, pricingId: adapter.pricingId };
  const all = [primary, ...(adapter.alsoServes ?? [])];
  BINDINGS.set(adapter, all);
  return all;
}

const BINDINGS = new WeakMap<ProviderAdapter<unknown>, readonly FormatBinding<unknown>[]>();
