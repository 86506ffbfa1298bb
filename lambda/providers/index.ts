import { openaiFormat } from '../formats/openai';
import type { FormatId, WireFormat } from '../formats/types';
import { openai } from './openai';
import type { ProviderAdapter, ProviderId } from './types';

/** Exhaustive: a new ProviderId does not compile until its adapter is registered here. */
export const PROVIDERS = { openai } satisfies Record<ProviderId, ProviderAdapter>;

export const FORMATS = { openai: openaiFormat } satisfies Record<FormatId, WireFormat>;

export const PROVIDER_IDS = Object.keys(PROVIDERS) as ProviderId[];

export function isProviderId(value: string): value is ProviderId {
  return Object.hasOwn(PROVIDERS, value);
}
