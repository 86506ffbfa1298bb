import { GatewayError } from '../core/errors';
import type { Operation } from './types';

/** Calls that run no model: listing models, retrieving or deleting stored objects. */
export const FREE: Operation = { kind: 'free' };

/** GET, HEAD and DELETE run no model in any of our providers' APIs; POSTs are the format's to classify. */
export function classifyByMethod(method: string, post: () => Operation | undefined): Operation | undefined {
  if (method === 'POST') return post();
  if (method === 'GET' || method === 'HEAD' || method === 'DELETE') return FREE;
  return undefined;
}

/** The `model` field every body-addressed API (OpenAI, Anthropic, Groq) requires. */
export function requireModel(body: Record<string, unknown>): string {
  const model = body['model'];
  if (typeof model !== 'string' || model === '') {
    throw new GatewayError('invalid_request', 'The request body must name a model in its "model" field.');
  }
  return model;
}

/**
 * A request field that bounds what a model may produce (`max_tokens`, `n`, …). Absent or null is
 * undefined. Anything else but a whole number of at least `min` is refused: the gateway could not
 * bound the request's cost, and the provider might read the value in a way the gateway does not
 * (a numeric string coerced, say).
 */
export function countField(value: unknown, name: string, min: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min) return value;
  throw new GatewayError('invalid_request', `"${name}" must be a whole number of at least ${min}, or absent.`);
}

/** The largest of the fields present, each read with {@link countField}: when a request sets several, the provider may honour any. */
export function largestCount(fields: readonly (readonly [value: unknown, name: string])[], min: number): number | undefined {
  let largest: number | undefined;
  for (const [value, name] of fields) {
    const count = countField(value, name, min);
    if (count !== undefined && (largest === undefined || count > largest)) largest = count;
  }
  return largest;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Metering reads what it can: a chunk that is not JSON is skipped, never an error for the caller. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
