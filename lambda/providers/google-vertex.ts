import * as z from '../config/zod';
import { GatewayError } from '../core/errors';
import { AccessTokenCache } from './google-oauth';
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

  upstreamPath(providerPath, { project, location }) {
    // ['', version, 'projects', project, 'locations', location, ...rest]; a version-less path is
    // rewritten too, so no spelling of the path reaches a project the gateway was not given.
    const segments = providerPath.split('/');
    const at = segments.indexOf('projects');
    // A project named anywhere else could only be a way around the rewrite below.
    if (at > 2) throw new GatewayError('invalid_request', 'A Vertex path names its project right after the API version, e.g. /v1/projects/…');
    if ((at === 1 || at === 2) && segments.length > at + 1) {
      segments[at + 1] = requireProject(project);
      if (segments[at + 2] === 'locations' && segments.length > at + 3) segments[at + 3] = location;
      return segments.join('/');
    }
    // A model action without a resource prefix (`/v1/publishers/google/models/m:generateContent`,
    // as SDKs in express mode send it) runs in the gateway's project. Base-model listing and
    // lookup (`GET …/publishers/google/models[/m]`) must stay unprefixed: Vertex refuses a prefix there.
    if (segments[2] === 'publishers' && segments.at(-1)?.includes(':')) {
      return ['', segments[1], 'projects', requireProject(project), 'locations', location, ...segments.slice(2)].join('/');
    }
    return providerPath;
  },

  // It names the project billed for quota: a caller must not charge another project the service account can use.
  dropsRequestHeader: (name) => name === 'x-goog-user-project',

  async authorize(_request, { credential, options, dispatcher, now }) {
    if (credential === undefined) throw new GatewayError('provider_not_configured', 'Provider google-vertex has no service-account credential configured.');
    return { authorization: `Bearer ${await tokens.token(credential, options.tokenUrl, dispatcher, now)}` };
  },
};

function requireProject(project: string | undefined): string {
  if (project === undefined) {
    throw new GatewayError('provider_not_configured', 'Provider google-vertex needs "options.project" in the gateway config to forward project-scoped requests.');
  }
  return project;
}
