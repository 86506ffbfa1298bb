import * as z from '../config/zod';
import { GatewayError } from '../core/errors';

/**
 * The Bedrock foundation-model id of each Claude model, under the names Anthropic's API takes
 * (its aliases and dated snapshots). Inference-profile prefixes are added by {@link bedrockModelId}.
 * `docs/claude-on-bedrock.md` lists the same table; an account's `options.models` adds to it.
 */
const CLAUDE_ON_BEDROCK: Readonly<Record<string, string>> = Object.freeze({
  'claude-3-haiku-20240307': 'anthropic.claude-3-haiku-20240307-v1:0',
  'claude-3-sonnet-20240229': 'anthropic.claude-3-sonnet-20240229-v1:0',
  'claude-3-opus-20240229': 'anthropic.claude-3-opus-20240229-v1:0',
  'claude-3-opus-latest': 'anthropic.claude-3-opus-20240229-v1:0',
  'claude-3-5-sonnet-20240620': 'anthropic.claude-3-5-sonnet-20240620-v1:0',
  'claude-3-5-sonnet-20241022': 'anthropic.claude-3-5-sonnet-20241022-v2:0',
  'claude-3-5-sonnet-latest': 'anthropic.claude-3-5-sonnet-20241022-v2:0',
  'claude-3-5-haiku-20241022': 'anthropic.claude-3-5-haiku-20241022-v1:0',
  'claude-3-5-haiku-latest': 'anthropic.claude-3-5-haiku-20241022-v1:0',
  'claude-3-7-sonnet-20250219': 'anthropic.claude-3-7-sonnet-20250219-v1:0',
  'claude-3-7-sonnet-latest': 'anthropic.claude-3-7-sonnet-20250219-v1:0',
  'claude-sonnet-4-20250514': 'anthropic.claude-sonnet-4-20250514-v1:0',
  'claude-sonnet-4-0': 'anthropic.claude-sonnet-4-20250514-v1:0',
  'claude-sonnet-4': 'anthropic.claude-sonnet-4-20250514-v1:0',
  'claude-opus-4-20250514': 'anthropic.claude-opus-4-20250514-v1:0',
  'claude-opus-4-0': 'anthropic.claude-opus-4-20250514-v1:0',
  'claude-opus-4': 'anthropic.claude-opus-4-20250514-v1:0',
  'claude-opus-4-1-20250805': 'anthropic.claude-opus-4-1-20250805-v1:0',
  'claude-opus-4-1': 'anthropic.claude-opus-4-1-20250805-v1:0',
  'claude-sonnet-4-5-20250929': 'anthropic.claude-sonnet-4-5-20250929-v1:0',
  'claude-sonnet-4-5': 'anthropic.claude-sonnet-4-5-20250929-v1:0',
  'claude-haiku-4-5-20251001': 'anthropic.claude-haiku-4-5-20251001-v1:0',
  'claude-haiku-4-5': 'anthropic.claude-haiku-4-5-20251001-v1:0',
  'claude-opus-4-5-20251101': 'anthropic.claude-opus-4-5-20251101-v1:0',
  'claude-opus-4-5': 'anthropic.claude-opus-4-5-20251101-v1:0',
  'claude-opus-4-6': 'anthropic.claude-opus-4-6-v1',
  'claude-sonnet-4-6': 'anthropic.claude-sonnet-4-6',
});

/** The inference-profile prefixes Bedrock has for Claude, and `none` for the bare foundation model. */
export const INFERENCE_PROFILES = ['us', 'us-gov', 'eu', 'apac', 'jp', 'au', 'ca', 'global', 'none'] as const;

export type InferenceProfile = (typeof INFERENCE_PROFILES)[number];

/** A Bedrock model id (a vendor-prefixed id or an inference profile) or an ARN: names no Claude alias has. */
const BEDROCK_ID = /^(?:arn:aws[a-z-]*:bedrock:\S+|[a-z0-9-]+\.\S+)$/;

/** `options.models`: Anthropic model names mapped to the Bedrock id, profile or ARN to call instead. */
export const modelsOptionSchema = z.record(
  z.string().check(z.minLength(1)),
  z.string().check(z.regex(BEDROCK_ID, 'must be a Bedrock model id, inference profile or ARN, such as eu.anthropic.claude-sonnet-4-5-20250929-v1:0')),
);

export interface ClaudeModelOptions {
  /** The AWS region the account calls; chooses the default profile's geography. */
  readonly region?: string;
  /** @default the geography of `region` (see {@link defaultProfile}) */
  readonly inferenceProfile?: InferenceProfile;
  /** Checked before the built-in table. */
  readonly models?: Readonly<Record<string, string>>;
}

const DEFAULT_REGION = 'us-east-1';

/**
 * The Bedrock id to call for the model a Messages request names. A Bedrock id, profile or ARN
 * passes through as it is; an operator's `models` entry wins over the built-in table; a table
 * entry gets the account's inference-profile prefix, because Bedrock runs the newer Claude models
 * only through a profile. Throws GatewayError `model_not_served` (400) for a name neither knows,
 * which a routing group takes as this member's alone.
 *
 * @example
 * bedrockModelId('claude-sonnet-4-5', { region: 'eu-west-1' }); // 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0'
 */
export function bedrockModelId(model: string, options: ClaudeModelOptions): string {
  if (BEDROCK_ID.test(model)) return safeId(model);
  const configured = options.models && Object.hasOwn(options.models, model) ? options.models[model] : undefined;
  if (configured !== undefined) return configured;
  const foundation = Object.hasOwn(CLAUDE_ON_BEDROCK, model) ? CLAUDE_ON_BEDROCK[model] : undefined;
  if (foundation === undefined) {
    throw new GatewayError(
      'model_not_served',
      `The model "${model}" has no Bedrock model id known to tollgate. Send a Bedrock model id or inference profile ` +
        '(such as "us.anthropic.claude-sonnet-4-5-20250929-v1:0"), or map the name in the Bedrock account\'s "options.models".',
    );
  }
  const profile = options.inferenceProfile ?? defaultProfile(options.region ?? DEFAULT_REGION);
  return profile === 'none' ? foundation : `${profile}.${foundation}`;
}

/** A cross-region inference profile's prefix on a vendor-prefixed model id (`us.`, `global.`…). */
const PROFILE_PREFIX = new RegExp(`^(?:${INFERENCE_PROFILES.filter((profile) => profile !== 'none').join('|')})\\.(?=[a-z0-9-]+\\.)`);

/**
 * The bare foundation-model id for a name, as {@link bedrockModelId} reads it, without any
 * inference-profile prefix: what Bedrock's CountTokens takes (it refuses profiles). An ARN stays.
 *
 * @example
 * foundationModelId('us.anthropic.claude-sonnet-4-5-20250929-v1:0', {}); // 'anthropic.claude-sonnet-4-5-20250929-v1:0'
 */
export function foundationModelId(model: string, options: ClaudeModelOptions): string {
  return bedrockModelId(model, { ...options, inferenceProfile: 'none' }).replace(PROFILE_PREFIX, '');
}

/**
 * A caller's id goes into the upstream path as one segment (`/` encoded), as a caller-written
 * Bedrock path does: it is held to the same rule, no segment an upstream that decodes it could
 * read as a dot segment or an empty one.
 */
function safeId(id: string): string {
  const parts = id.split('/');
  if (parts.some((part) => part === '' || part === '.' || part === '..') || /[\\%?#]/.test(id)) {
    throw new GatewayError('invalid_request', 'The model id contains an empty or dot path segment, or a character a model id never has.');
  }
  return id;
}

/**
 * The cross-region profile a region's geography has: `us-gov` for GovCloud, `us`, `eu` and `apac`
 * for regions in those geographies, `global` anywhere else (Bedrock's global profiles are the only
 * ones there, and only the newer models have them).
 */
export function defaultProfile(region: string): InferenceProfile {
  if (region.startsWith('us-gov-')) return 'us-gov';
  if (region.startsWith('us-')) return 'us';
  if (region.startsWith('eu-')) return 'eu';
  if (region.startsWith('ap-')) return 'apac';
  return 'global';
}

/** The built-in table, for documentation and tests. */
export function claudeModelTable(): Readonly<Record<string, string>> {
  return CLAUDE_ON_BEDROCK;
}
