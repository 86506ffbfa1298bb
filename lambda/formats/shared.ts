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
