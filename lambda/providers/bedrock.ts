import * as z from '../config/zod';
import { decodeModelId, encodeModelId, parseModelPath } from '../formats/bedrock-model';
import { ambientCredentials, parseBedrockCredential } from './aws-credentials';
import { signDraft } from './aws-sigv4';
import { bedrockAnthropic } from './bedrock-anthropic';
import { INFERENCE_PROFILES, modelsOptionSchema } from './bedrock-claude-models';
import type { ProviderAdapter } from './types';

/**
 * `providers.bedrock.options`.
 *
 * @example
 * { "providers": { "bedrock": { "options": { "region": "eu-west-1", "models": { "house-claude": "eu.anthropic.claude-sonnet-4-5-20250929-v1:0" } } } } }
 */
export const bedrockOptionsSchema = z.strictObject({
  /**
   * The AWS region requests are signed for, and whose endpoint is the default base URL.
   * @default the region in a `bedrock-runtime.<region>.amazonaws.com` base URL, else us-east-1
   */
  region: z.optional(z.string().check(z.regex(/^[a-z]{2}(?:-[a-z]+)+-\d+$/, 'must be an AWS region such as us-east-1'))),
  /**
   * The cross-region inference profile Claude names in Anthropic Messages requests are sent to
   * (`us.anthropic.…`), or `none` for the bare foundation model.
   * @default the geography of `region`: `us`, `us-gov`, `eu` or `apac`, else `global`
   */
  inferenceProfile: z.optional(z.enum(INFERENCE_PROFILES)),
  /** Anthropic model names mapped to the Bedrock id, profile or ARN to call; checked before the built-in table. */
  models: z.optional(modelsOptionSchema),
});

export type BedrockOptions = z.infer<typeof bedrockOptionsSchema>;

const DEFAULT_REGION = 'us-east-1';
const REGIONAL_HOST = /^bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

/** The region an account's requests are signed for (and its IAM grant must name): the option, else the regional host's, else us-east-1. */
export function bedrockSigningRegion(options: BedrockOptions, hostname: string): string {
  return options.region ?? REGIONAL_HOST.exec(hostname)?.[1] ?? DEFAULT_REGION;
}

/**
 * AWS Bedrock Runtime, in its own API and, for Claude, in Anthropic's Messages API
 * (`bedrock-anthropic.ts`). With no credential configured, requests are signed (SigV4) with the AWS
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
    return signDraft(request, { service: 'bedrock', region: bedrockSigningRegion(options, request.url.hostname), credentials, at: now() });
  },

  alsoServes: [bedrockAnthropic],
};
