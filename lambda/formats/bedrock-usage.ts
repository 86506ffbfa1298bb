import type { OutgoingHeaders } from '../core/http-types';
import type { UsageDocument } from './types';
import { isObject } from './shared';

/**
 * Bedrock usage, in the two shapes genai-prices' `aws` extractors read:
 * `default` — Converse's `usage: { inputTokens, outputTokens, cacheReadInputTokens, cacheWriteInputTokens }`;
 * `anthropic` — an Anthropic Messages body's `usage: { input_tokens, cache_read_input_tokens, … }`.
 * In both, input tokens exclude the cache reads and writes, which the extractors add back.
 */

/** Bedrock's own count, the same for every model: `x-amzn-bedrock-*-token-count` headers or `amazon-bedrock-invocationMetrics`. */
export interface InvocationCounts {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadInputTokens?: number;
  readonly cacheWriteInputTokens?: number;
}

export function countsDocument(counts: InvocationCounts): UsageDocument {
  return { flavor: 'default', doc: { usage: counts } };
}

/** InvokeModel reports its counts in response headers, for whatever model ran. */
export function countsFromHeaders(headers: OutgoingHeaders): InvocationCounts | undefined {
  const inputTokens = headerCount(headers, 'x-amzn-bedrock-input-token-count');
  const outputTokens = headerCount(headers, 'x-amzn-bedrock-output-token-count');
  if (inputTokens === undefined || outputTokens === undefined) return undefined;
  return withCache(
    { inputTokens, outputTokens },
    headerCount(headers, 'x-amzn-bedrock-cache-read-input-token-count'),
    headerCount(headers, 'x-amzn-bedrock-cache-write-input-token-count'),
  );
}

/** The `amazon-bedrock-invocationMetrics` object of a stream's last chunk. */
export function countsFromMetrics(metrics: Record<string, unknown>): InvocationCounts | undefined {
  const inputTokens = count(metrics['inputTokenCount']);
  const outputTokens = count(metrics['outputTokenCount']);
  if (inputTokens === undefined || outputTokens === undefined) return undefined;
  return withCache({ inputTokens, outputTokens }, count(metrics['cacheReadInputTokenCount']), count(metrics['cacheWriteInputTokenCount']));
}

/** A model's own body: an Anthropic Messages usage block, or a Converse-shaped one (Amazon Nova). */
export function documentFromBody(body: Record<string, unknown>): UsageDocument | undefined {
  const usage = body['usage'];
  if (!isObject(usage)) return undefined;
  if (count(usage['input_tokens']) !== undefined) return { flavor: 'anthropic', doc: body };
  if (count(usage['inputTokens']) !== undefined) return { flavor: 'default', doc: body };
  return undefined;
}

function withCache(counts: InvocationCounts, cacheReadInputTokens: number | undefined, cacheWriteInputTokens: number | undefined): InvocationCounts {
  return {
    ...counts,
    ...(cacheReadInputTokens !== undefined && { cacheReadInputTokens }),
    ...(cacheWriteInputTokens !== undefined && { cacheWriteInputTokens }),
  };
}

function headerCount(headers: OutgoingHeaders, name: string): number | undefined {
  const value = headers[name];
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined || !/^\d+$/.test(text.trim()) ? undefined : Number(text);
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
}

