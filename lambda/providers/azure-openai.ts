import * as z from '../config/zod';
import { streamUsageFor } from '../formats/openai';
import { decodeSegment, endpointTable, FREE, requireModel } from '../formats/shared';
import type { Operation, PreparedRequest, RequestView } from '../formats/types';
import { queryAllowList } from './query-allow-list';
import type { ProviderAdapter } from './types';

/**
 * `providers.<azure account>.options`.
 *
 * @example
 * { "providers": { "azure-openai": {
 *     "baseUrl": "https://acme-eastus.openai.azure.com",
 *     "options": { "deployments": { "prod-chat": "gpt-4o", "cheap": "gpt-4o-mini" } } } } }
 */
export const azureOptionsSchema = z.strictObject({
  /**
   * Deployment name → the model it runs, for pricing. A deployment's name is the operator's
   * choice, and what runs behind it is not in the request: mapped, it is priced (and reserved for)
   * as its model from the first request, whatever the body's `model` says.
   */
  deployments: z.optional(z.record(z.string().check(z.minLength(1)), z.string().check(z.minLength(1)))),
});

export type AzureOptions = z.infer<typeof azureOptionsSchema>;

const CHAT: Operation = { kind: 'metered', name: 'chat' };
const RESPONSES: Operation = { kind: 'metered', name: 'responses' };
const EMBEDDINGS: Operation = { kind: 'metered', name: 'embeddings' };

/**
 * The deployments API (what `AzureOpenAI` from the `openai` package sends, `?api-version=…`
 * required), the v1 API (`/openai/v1/…`, what the plain `OpenAI` client sends with
 * `baseURL: <resource>/openai/v1`), and OpenAI's own paths, served as the v1 API so an Azure
 * account can stand in for an OpenAI one in a routing group. Operation names are the OpenAI
 * format's: its usage readers and output caps apply as they are. Stored responses, files,
 * batches and fine-tunes are the resource's, shared by every gateway key: refused.
 */
const ENDPOINTS = endpointTable([
  { method: 'POST', path: '/openai/deployments/{deployment}/chat/completions', operation: CHAT },
  { method: 'POST', path: '/openai/deployments/{deployment}/embeddings', operation: EMBEDDINGS },
  { method: 'POST', path: '/openai/responses', operation: RESPONSES },
  { method: 'POST', path: '/openai/v1/chat/completions', operation: CHAT },
  { method: 'POST', path: '/openai/v1/responses', operation: RESPONSES },
  { method: 'POST', path: '/openai/v1/embeddings', operation: EMBEDDINGS },
  { method: 'POST', path: '/chat/completions', operation: CHAT },
  { method: 'POST', path: '/responses', operation: RESPONSES },
  { method: 'POST', path: '/embeddings', operation: EMBEDDINGS },
  { method: 'GET', path: '/openai/models', operation: FREE },
  { method: 'GET', path: '/openai/models/{model}', operation: FREE },
  { method: 'GET', path: '/openai/v1/models', operation: FREE },
  { method: 'GET', path: '/openai/v1/models/{model}', operation: FREE },
  { method: 'GET', path: '/models', operation: FREE },
  { method: 'GET', path: '/models/{model}', operation: FREE },
]);

const DEPLOYMENT_PATH = /^\/openai\/deployments\/([^/]+)\//;

/**
 * The model to price: a mapped deployment's model; else the body's `model` (the `AzureOpenAI`
 * client sends it, and on the v1 API it names the deployment); else the deployment's own name.
 * The response's `model` refines it when metered, as for OpenAI.
 */
function prepare(operation: string, { providerPath, body }: RequestView, { deployments }: AzureOptions): PreparedRequest {
  const segment = DEPLOYMENT_PATH.exec(providerPath)?.[1];
  const deployment = segment === undefined ? requireModel(body) : decodeSegment(segment);
  const mapped = deployments !== undefined && Object.hasOwn(deployments, deployment) ? deployments[deployment] : undefined;
  const given = typeof body['model'] === 'string' && body['model'] !== '' ? body['model'] : undefined;
  return { model: mapped ?? given ?? deployment, ...streamUsageFor(operation, body) };
}

/**
 * Azure OpenAI: one resource per account, so no default host (`baseUrl` is the resource's
 * endpoint, `https://<resource>.openai.azure.com`). The credential is the resource's API key,
 * sent as `api-key`; the caller's `api-version` passes through, and nothing else in the query.
 */
export const azureOpenai: ProviderAdapter<AzureOptions> = {
  id: 'azure-openai',
  routes: ['azure-openai'],
  format: 'openai',
  // genai-prices' Azure prices fall back to OpenAI's (and Anthropic's, DeepSeek's…) for models it lists no Azure price for.
  pricingId: 'azure',
  defaults: { baseUrlExample: 'https://<resource>.openai.azure.com', credentialEnv: 'AZURE_OPENAI_API_KEY' },
  options: azureOptionsSchema,
  serves: { classify: ENDPOINTS.classify, prepare, endpoints: ENDPOINTS.endpoints },

  // OpenAI's own paths are the v1 API's, one level down.
  upstreamPath: (providerPath) => (providerPath.startsWith('/openai/') ? providerPath : `/openai/v1${providerPath}`),

  checkQuery: queryAllowList(['api-version'], 'Azure OpenAI'),

  authorize: (_request, { credential }) => ({ 'api-key': credential ?? '' }),
};
