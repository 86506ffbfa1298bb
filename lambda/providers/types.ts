import type { FormatId } from '../formats/types';

export type ProviderId = 'openai';

/** How a stream's messages are framed on the wire; the meter picks its parser from this. */
export type StreamFraming = 'sse';

/**
 * Transport for one provider: where requests go, which route names reach it, and how the
 * gateway authenticates upstream. What the bodies mean is the wire format's job.
 *
 * @example
 * const provider: ProviderAdapter = {
 *   id: 'openai', routes: ['openai'], format: 'openai', framing: 'sse', pricingId: 'openai',
 *   defaults: { baseUrl: 'https://api.openai.com/v1', credentialEnv: 'OPENAI_API_KEY' },
 *   upstreamAuth: (credential) => ({ authorization: `Bearer ${credential}` }),
 * };
 */
export interface ProviderAdapter {
  readonly id: ProviderId;
  /** Route names under `/proxy/` that reach this provider; the first is canonical. */
  readonly routes: readonly string[];
  readonly format: FormatId;
  readonly framing: StreamFraming;
  /** The provider id in `@pydantic/genai-prices`. */
  readonly pricingId: string;
  readonly defaults: { readonly baseUrl: string; readonly credentialEnv: string };
  /** Headers that carry the provider credential upstream. */
  upstreamAuth(credential: string): Record<string, string>;
}
