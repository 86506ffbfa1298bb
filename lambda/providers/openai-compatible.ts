import { findProvider } from '@pydantic/genai-prices';
import * as z from '../config/zod';
import { openaiFormat } from '../formats/openai';
import { requireModel } from '../formats/shared';
import { accountPricingId } from '../pricing/pricing-id';
import type { ProviderAdapter } from './types';

/**
 * `providers.<account>.options` for any server that speaks OpenAI's API.
 *
 * @example
 * { "providers": {
 *     "together": { "kind": "openai-compatible", "baseUrl": "https://api.together.xyz/v1",
 *                   "credential": { "env": "TOGETHER_API_KEY" }, "options": { "pricingProvider": "together" } },
 *     "vllm": { "kind": "openai-compatible", "baseUrl": "http://10.0.0.7:8000/v1", "unpriced": "allow" } } }
 */
export const openaiCompatibleOptionsSchema = z.strictObject({
  /**
   * The genai-prices provider whose prices apply (`together`, `mistral`, `openrouter`,
   * `fireworks`, `deepseek`…). Without it, only the config's `prices` for this account do.
   */
  pricingProvider: z.optional(
    z.string().check(z.refine((id) => findProvider({ providerId: id })?.id === id, 'must be a provider id in genai-prices’ data, such as together, mistral or openrouter')),
  ),
  /**
   * Whether a streamed chat completion is sent with `stream_options.include_usage`, without which
   * OpenAI's API streams no usage. Set false for a server that refuses the field and reports
   * usage unasked (Mistral answers 422 to it). @default true
   */
  includeStreamUsage: z._default(z.boolean(), true),
});

export type OpenAICompatibleOptions = z.infer<typeof openaiCompatibleOptionsSchema>;

/**
 * Any server with OpenAI's API at its base URL (vLLM, Ollama, Together, Mistral, OpenRouter…).
 * Clients use the OpenAI SDK with `baseURL: <gateway>/proxy/<account>`; paths are OpenAI's and go
 * to the account's base URL unchanged. The credential, if any, is sent as a Bearer token: a local
 * server may need none. Each account is priced on its own (see `pricingIdFor`), and whatever has no
 * price meets the account's `unpriced` policy, as on every provider.
 */
export const openaiCompatible: ProviderAdapter<OpenAICompatibleOptions> = {
  id: 'openai-compatible',
  routes: ['openai-compatible'],
  format: 'openai',
  // Never used as it is: every account names its own pricing (`pricingIdFor`).
  pricingId: 'openai-compatible',
  pricingIdFor: (account, { pricingProvider }) => pricingProvider ?? accountPricingId(account),
  defaults: { baseUrlExample: 'http://127.0.0.1:8000/v1' },
  credentialOptional: true,
  options: openaiCompatibleOptionsSchema,
  serves: {
    prepare: (operation, request, { includeStreamUsage }) => (includeStreamUsage ? openaiFormat.prepare(operation, request) : { model: requireModel(request.body) }),
  },

  authorize: (_request, { credential }): Record<string, string> => (credential === undefined ? {} : { authorization: `Bearer ${credential}` }),
};
