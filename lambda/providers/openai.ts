import type { ProviderAdapter } from './types';

export const openai: ProviderAdapter = {
  id: 'openai',
  // The Pydantic AI Gateway's route names, so pydantic-ai's `gateway/...` models resolve here.
  routes: ['openai', 'chat', 'openai-chat', 'responses', 'openai-responses'],
  format: 'openai',
  pricingId: 'openai',
  defaults: { baseUrl: 'https://api.openai.com/v1', credentialEnv: 'OPENAI_API_KEY' },
  // They pick which of the key's organizations and projects a request bills and reads (its
  // fine-tuned models, its stored responses): the gateway's key, the gateway's choice, as
  // `x-goog-user-project` on Google.
  dropsRequestHeader: (name) => name === 'openai-organization' || name === 'openai-project',
  authorize: (_request, { credential }) => ({ authorization: `Bearer ${credential}` }),
};
