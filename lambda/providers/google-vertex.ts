import * as z from '../config/zod';
import { GatewayError } from '../core/errors';
import { parseVertexPath } from '../formats/vertex-path';
import { AccessTokenCache } from './google-oauth';
import { checkGoogleQuery } from './google-query';
import { vertexUpstreamPath } from './vertex-project';
import { vertexAnthropic } from './vertex-anthropic';
import type { ProviderAdapter } from './types';

const httpUrl = z.pipe(
  z.string().check(z.refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), 'must be an http(s) URL')),
  z.transform((value: string) => new URL(value)),
);

/**
 * `providers.google-vertex.options`. Project and location are the gateway's, never the caller's:
 * every request path is rewritten to them.
 *
 * @example
 * { "providers": { "google-vertex": { "options": { "project": "acme-ai", "location": "europe-west4" } } } }
 */
export const vertexOptionsSchema = z.strictObject({
  /** Required to forward anything project-scoped (which every model call is); a project id, number or `domain:id`. */
  project: z.optional(z.string().check(z.regex(/^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*:)?[a-z0-9-]+$/, 'must be a Google Cloud project id or number'))),
  /** A Vertex region (`us-central1`), a multi-region (`us`, `eu`) or `global`. @default 'global' */
  location: z._default(z.string().check(z.regex(/^[a-z][a-z0-9-]*$/, 'must be a Vertex AI location such as us-central1 or global')), 'global'),
  /** Overrides the service account's `token_uri` (and Google's default): for proxies, air-gapped setups and tests. */
  tokenUrl: z.optional(httpUrl),
});

export type VertexOptions = z.infer<typeof vertexOptionsSchema>;

const MULTI_REGIONS = new Set(['us', 'eu']);

const tokens = new AccessTokenCache();

/**
 * Google Vertex AI. The credential is a whole service-account key file (JSON); the gateway mints
 * OAuth access tokens from it and caches them, so callers only ever hold a gateway key.
 */
export const googleVertex: ProviderAdapter<VertexOptions> = {
  id: 'google-vertex',
  routes: ['google-vertex', 'gemini', 'google'],
  format: 'gemini',
  pricingId: 'google',
  defaults: { baseUrl: 'https://aiplatform.googleapis.com', credentialEnv: 'GOOGLE_APPLICATION_CREDENTIALS_JSON' },
  options: vertexOptionsSchema,

  defaultBaseUrl({ location }) {
    if (location === 'global') return 'https://aiplatform.googleapis.com';
    if (MULTI_REGIONS.has(location)) return `https://aiplatform.${location}.rep.googleapis.com`;
    return `https://${location}-aiplatform.googleapis.com`;
  },

  upstreamPath(providerPath, options) {
    const path = parseVertexPath(providerPath);
    if (path === undefined) throw new GatewayError('unsupported_endpoint', `${providerPath} is not a Vertex path tollgate forwards.`);
    return vertexUpstreamPath(path, options);
  },

  // `x-goog-user-project` names the project billed for quota: a caller must not charge another
  // project the service account can use. `x-goog-fieldmask` would cut the usage counts out of the
  // response (a partial response), and with them what the output costs. (Method overrides are
  // dropped for every provider.)
  dropsRequestHeader: (name) => name === 'x-goog-user-project' || name === 'x-goog-fieldmask',

  checkQuery: checkGoogleQuery,

  // Claude's Messages API, natively (`…/publishers/anthropic/models/{m}:rawPredict`) and as `/v1/messages`.
  alsoServes: [vertexAnthropic],

  async authorize(_request, { credential, options, dispatcher, now }) {
    if (credential === undefined) throw new GatewayError('provider_not_configured', 'Provider google-vertex has no service-account credential configured.');
    return { authorization: `Bearer ${await tokens.token(credential, options.tokenUrl, dispatcher, now)}` };
  },
};
