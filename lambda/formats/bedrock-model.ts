import { calcPrice } from '@pydantic/genai-prices';
import { GatewayError } from '../core/errors';

/**
 * Bedrock names the model in the path, `/model/{modelId}/{operation}`, and nowhere else (Converse
 * bodies carry none). The id may be a foundation model (`anthropic.claude-3-5-sonnet-20240620-v1:0`),
 * a cross-region inference profile (`us.…`, `eu.…`, `apac.…`, `global.…`) or an ARN of either.
 */
const MODEL_PATH = /^\/model\/([^/]+)\/([a-z-]+)$/;

// ARNs whose last part is a model or system inference-profile id. Application inference profiles,
// provisioned and custom models have opaque ids: they stay whole, so a custom price can name the ARN.
const MODEL_ARN = /^arn:aws[a-z-]*:bedrock:[a-z0-9-]*:\d*:(?:foundation-model|inference-profile)\/(.+)$/;

const INFERENCE_PROFILE_PREFIX = /^(?:us|us-gov|eu|apac|au|ca|jp|in|global)\./;

// The genai-prices provider Bedrock prices under (the bedrock adapter's pricingId).
const PRICING_ID = 'aws';

const resolved = new Map<string, string>();

export interface ModelPath {
  /** The path segment as the caller sent it. */
  readonly segment: string;
  readonly operation: string;
}

export function parseModelPath(providerPath: string): ModelPath | undefined {
  const match = MODEL_PATH.exec(providerPath);
  return match?.[1] && match[2] ? { segment: match[1], operation: match[2] } : undefined;
}

/** The model id a path segment names, percent-decoded (the SDKs send `:` as `%3A`, ARNs' `/` as `%2F`). */
export function decodeModelId(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new GatewayError('invalid_request', `The model id "${segment}" in the path is not valid percent-encoding.`);
  }
}

/**
 * The path segment Bedrock expects for a model id: every reserved character percent-encoded, as
 * the AWS SDKs send it. Re-encoding whatever the caller sent (`:` raw or encoded) means the
 * gateway forwards, and signs, one canonical spelling.
 */
export function encodeModelId(modelId: string): string {
  return encodeURIComponent(modelId).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The model id to price. genai-prices matches most inference-profile ids as they are, and prices
 * some (`global.…`) differently from the bare model, so the id is kept whenever it is known; only
 * an unknown profile id falls back to the model it routes to. An ARN prices as the id it ends with.
 */
export function pricingModel(modelId: string): string {
  let priced = resolved.get(modelId);
  if (priced === undefined) {
    // Model ids are few; the bound only stops a caller from growing the map without end.
    if (resolved.size >= 1_000) resolved.clear();
    priced = resolve(modelId);
    resolved.set(modelId, priced);
  }
  return priced;
}

function resolve(modelId: string): string {
  const id = MODEL_ARN.exec(modelId)?.[1] ?? modelId;
  if (hasPrice(id)) return id;
  const bare = id.replace(INFERENCE_PROFILE_PREFIX, '');
  return bare !== id && hasPrice(bare) ? bare : id;
}

function hasPrice(model: string): boolean {
  return calcPrice({ input_tokens: 0, output_tokens: 0 }, model, { providerId: PRICING_ID }) !== null;
}
