import * as z from '../config/zod';
import { decodeModelId, encodeModelId, parseModelPath } from '../formats/bedrock-model';
import { ambientCredentials, parseBedrockCredential } from './aws-credentials';
import { signDraft } from './aws-sigv4';
import type { ProviderAdapter } from './types';

/**
 * `providers.bedrock.options`.
 *
 * @example
 * { "providers": { "bedrock": { "options": { "region": "eu-west-1" } } } }
 */
export const bedrockOptionsSchema = z.strictObject({
  /**
   * The AWS region requests are signed for, and whose endpoint is the default base URL.
   * @default the region in a `bedrock-runtime.<region>.amazonaws.com` base URL, else us-east-1
   */
  region: z.optional(z.string().check(z.regex(/^[a-z]{2}(?:-[a-z]+)+-\d+$/, 'must be an AWS region such as us-east-1'))),
});

export type BedrockOptions = z.infer<typeof bedrockOptionsSchema>;

const DEFAULT_REGION = 'us-east-1';
const REGIONAL_HOST = /^bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

/**
 * AWS Bedrock Runtime. With no credential configured, requests are signed (SigV4) with the AWS
 * default credential chain — in AWS, the function's role, so nothing is stored. A configured
 * credential is either an access key as JSON or a Bedrock API key; see `parseBedrockCredential`.
 */
export const bedrock: ProviderAdapter<BedrockOptions> = {
  id: 'bedrock',
  routes: ['bedrock', 'converse'],
  format: 'bedrock',
  pricingId: 'aws',
  defaults: { baseUrl: `https://bedrock-runtime.${DEFAULT_REGION}.amazonaws.com` },
  credentialOptional: true,
  options: bedrockOptionsSchema,

  defaultBaseUrl: ({ region }) => `https://bedrock-runtime.${region ?? DEFAULT_REGION}.amazonaws.com`,

  upstreamPath(providerPath) {
    const path = parseModelPath(providerPath);
    return path ? `/model/${encodeModelId(decodeModelId(path.segment))}/${path.operation}` : providerPath;
  },

  // The caller's own signature headers would override or corrupt the gateway's.
  dropsRequestHeader: (name) => name.startsWith('x-amz-'),

  async authorize(request, { credential, options, now, env }) {
    const configured = credential === undefined ? undefined : parseBedrockCredential(credential);
    if (configured?.kind === 'api-key') return { authorization: `Bearer ${configured.key}` };
    const credentials = configured?.credentials ?? (await ambientCredentials(env ?? process.env));
    const region = options.region ?? REGIONAL_HOST.exec(request.url.hostname)?.[1] ?? DEFAULT_REGION;
    return signDraft(request, { service: 'bedrock', region, credentials, at: now() });
  },
};
