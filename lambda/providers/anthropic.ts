import { endpointTable } from '../formats/shared';
import type { ProviderAdapter } from './types';

/**
 * Anthropic's OpenAI-compatible Chat Completions endpoint, which the OpenAI SDK reaches with
 * `baseURL: <gateway>/proxy/anthropic/v1`. Only chat completions: the compatibility layer has no
 * Responses or Embeddings API, and `GET /v1/models` is the native API's (listed by it).
 */
const OPENAI_COMPATIBLE = endpointTable([{ method: 'POST', path: '/v1/chat/completions', operation: { kind: 'metered', name: 'chat' } }]);

/**
 * Anthropic's API. `anthropic-version` and `anthropic-beta` are the client's choice and pass
 * through as sent; only the credential is the gateway's.
 *
 * It also serves OpenAI's chat format at `/v1/chat/completions`: the OpenAI format's `prepare`
 * asks a stream for its usage (`stream_options.include_usage`, which Anthropic honours), and the
 * OpenAI-shaped usage is priced as Anthropic's with genai-prices' Anthropic `chat` extractor.
 */
export const anthropic: ProviderAdapter = {
  id: 'anthropic',
  routes: ['anthropic'],
  format: 'anthropic',
  pricingId: 'anthropic',
  defaults: { baseUrl: 'https://api.anthropic.com', credentialEnv: 'ANTHROPIC_API_KEY' },
  authorize: (_request, { credential }) => ({ 'x-api-key': credential ?? '' }),
  alsoServes: [
    {
      format: 'openai',
      pricingId: 'anthropic',
      classify: OPENAI_COMPATIBLE.classify,
      endpoints: OPENAI_COMPATIBLE.endpoints,
      // As Anthropic's OpenAI SDK guide has it: the key as the OpenAI SDK sends one.
      authorize: (_request, { credential }) => ({ authorization: `Bearer ${credential ?? ''}` }),
    },
  ],
};
