import type { ProviderAdapter } from './types';

/**
 * Anthropic's API. `anthropic-version` and `anthropic-beta` are the client's choice and pass
 * through as sent; only the credential is the gateway's.
 */
export const anthropic: ProviderAdapter = {
  id: 'anthropic',
  routes: ['anthropic'],
  format: 'anthropic',
  pricingId: 'anthropic',
  defaults: { baseUrl: 'https://api.anthropic.com', credentialEnv: 'ANTHROPIC_API_KEY' },
  authorize: (_request, { credential }) => ({ 'x-api-key': credential ?? '' }),
};
