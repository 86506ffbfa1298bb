import { openaiFormat } from '../formats/openai';
import type { FormatId, WireFormat } from '../formats/types';
import { openai } from './openai';
import type { ProviderAdapter, ProviderId } from './types';

/**
 * Exhaustive: a new ProviderId does not compile until its adapter is registered here.
 * `unknown` options: each adapter validates and reads its own.
 */
export const PROVIDERS: Readonly<Record<ProviderId, ProviderAdapter<unknown>>> = {
  openai,
};

export const FORMATS: Readonly<Record<FormatId, WireFormat>> = {
  openai: openaiFormat,
};

export const PROVIDER_IDS = Object.keys(PROVIDERS) as ProviderId[];

export function isProviderId(value: string): value is ProviderId {
  return Object.hasOwn(PROVIDERS, value);
}
