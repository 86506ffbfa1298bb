import { geminiApiPaths } from '../formats/gemini-api-path';
import { queryAllowList } from './query-allow-list';
import type { ProviderAdapter } from './types';

/**
 * The Gemini Developer API (generativelanguage.googleapis.com), with an API key. It speaks the
 * Gemini format on paths of its own (`/v1beta/models/{model}:generateContent`), which it alone
 * takes: on the `gemini` and `google` routes, shared with Vertex, each path goes to the kind that
 * can serve it, and nothing is forwarded to one that cannot.
 */
export const googleGla: ProviderAdapter = {
  id: 'google-gla',
  // pydantic-ai's name for this API, then the route names it shares with Vertex.
  routes: ['google-gla', 'gemini', 'google'],
  format: 'gemini',
  pricingId: 'google',
  defaults: { baseUrl: 'https://generativelanguage.googleapis.com', credentialEnv: 'GEMINI_API_KEY' },
  serves: geminiApiPaths,

  // As on Vertex: `x-goog-user-project` picks the project billed for quota, and `x-goog-fieldmask`
  // would cut the usage counts out of the response, and with them what the output costs.
  dropsRequestHeader: (name) => name === 'x-goog-user-project' || name === 'x-goog-fieldmask',

  // The API reads a key from `key` and a token from `access_token`: a caller's there would stand in
  // for the gateway's, and the gateway key itself must never be sent on. `fields` would mask the
  // usage out of the response; `$userProject` would bill another project.
  checkQuery: queryAllowList(
    ['alt', '$alt', 'prettyPrint', '$prettyPrint', '$.xgafv', 'pageSize', 'pageToken'],
    'the Gemini API',
    ' Send the gateway key in the x-goog-api-key header.',
  ),

  authorize: (_request, { credential }) => ({ 'x-goog-api-key': credential ?? '' }),
};
