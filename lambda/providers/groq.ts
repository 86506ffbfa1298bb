import type { ProviderAdapter } from './types';

/** Groq's OpenAI-compatible API, which lives under `/openai/v1` on its host. */
export const groq: ProviderAdapter = {
  id: 'groq',
  routes: ['groq'],
  format: 'groq',
  pricingId: 'groq',
  defaults: { baseUrl: 'https://api.groq.com', credentialEnv: 'GROQ_API_KEY' },
  authorize: (_request, { credential }) => ({ authorization: `Bearer ${credential ?? ''}` }),
};
