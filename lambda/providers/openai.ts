import type { ProviderAdapter } from './types';

export const openai: ProviderAdapter = {
  id: 'openai',
  // The Pydantic AI Gateway's route names, so pydantic-ai's `gateway/...` models resolve here.
  routes: ['openai', 'chat', 'openai-chat', 'responses', 'openai-responses'],
  format: 'openai',
  pricingId: 'openai',
  defaults: { baseUrl: 'https://api.openai.com/v1', credentialEnv: 'OPENAI_API_KEY' },
  authorize: (_request, { credential }) => ({ authorization: `Bearer ${credential}` }),
};
