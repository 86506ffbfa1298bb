import { GatewayError } from '../core/errors';
import type { Endpoints, Operation, RequestView } from './types';

/** Calls on a route's allow-list that run no model and touch nothing shared: listing models, counting tokens. */
export const FREE: Operation = { kind: 'free' };

/** One endpoint a format forwards. */
export interface Endpoint {
  readonly method: 'GET' | 'POST';
  /** `/models/{model}`: literal segments match exactly, as the providers' paths are case-sensitive; a `{…}` segment holds one id. */
  readonly path: string;
  readonly operation: Operation;
}

export interface EndpointTable {
  /** The operation of an allowed endpoint; undefined for anything else. HEAD is allowed wherever GET is. */
  classify(method: string, providerPath: string): Operation | undefined;
  readonly endpoints: Endpoints;
}

/**
 * An allow-list of fixed paths with at most a model id in them (OpenAI, Anthropic, Groq). Ids are
 * percent-decoded before they are checked, so what tollgate allows is what the provider reads.
 *
 * @example
 * const table = endpointTable([{ method: 'GET', path: '/v1/models/{model}', operation: FREE }]);
 * table.classify('GET', '/v1/models/claude-sonnet-4-5'); // { kind: 'free' }
 * table.classify('DELETE', '/v1/models/claude-sonnet-4-5'); // undefined: refused with a 404
 */
export function endpointTable(entries: readonly Endpoint[], ids: IdRule = {}): EndpointTable {
  const parsed = entries.map((entry) => ({ ...entry, segments: entry.path.split('/') }));
  // The metered endpoints are fixed paths: one map lookup finds them, without splitting the path.
  const fixed = new Map(parsed.filter((entry) => !entry.segments.some(isParameter)).map((entry) => [`${entry.method} ${entry.path}`, entry.operation]));
  return {
    classify(method, providerPath) {
      const wanted = method === 'HEAD' ? 'GET' : method;
      const exact = fixed.get(`${wanted} ${providerPath}`);
      if (exact) return exact;
      const segments = providerPath.split('/');
      for (const entry of parsed) {
        if (entry.method !== wanted || entry.segments.length !== segments.length) continue;
        if (!entry.segments.every((literal, at) => isParameter(literal) || literal === segments[at])) continue;
        for (const [at, literal] of entry.segments.entries()) if (isParameter(literal)) checkId(segments[at] ?? '', ids);
        return entry.operation;
      }
      return undefined;
    },
    endpoints: listEndpoints(entries),
  };
}

export interface IdRule {
  /** Ids may hold a `/`, sent percent-encoded as one segment (Groq's `openai/gpt-oss-120b`, as groq-sdk sends it). */
  readonly slash?: boolean;
}

/** Model ids as the providers name them: `gpt-4o`, `ft:gpt-4o-mini:acme::x1`, `claude-sonnet-4-5@20250929`. */
const ID = /^[A-Za-z0-9_][A-Za-z0-9_.:@-]*$/;

/**
 * An id segment is checked in the form the provider will read it, decoded: a `%2F` or `%3F` that
 * decodes into a separator would make the provider see another path than the one allowed here.
 */
function checkId(segment: string, rule: IdRule): void {
  const decoded = decodeSegment(segment);
  const parts = rule.slash ? decoded.split('/') : [decoded];
  if (!parts.every((part) => ID.test(part))) {
    throw new GatewayError('invalid_request', `"${segment}" in the request path is not a model id tollgate can forward unambiguously.`);
  }
}

function isParameter(segment: string): boolean {
  return segment.startsWith('{') && segment.endsWith('}');
}

/** Decodes one path segment; malformed percent-encoding is the caller's error, never an exception of ours. */
export function decodeSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new GatewayError('invalid_request', `"${segment}" in the request path is not valid percent-encoding.`);
  }
}

/** What a route forwards, for the 404 that answers everything else. */
export function listEndpoints(entries: readonly Endpoint[]): Endpoints {
  const describe = (kind: Operation['kind']) => entries.filter((entry) => entry.operation.kind === kind).map((entry) => `${entry.method} ${entry.path}`);
  return { metered: describe('metered'), free: describe('free') };
}

/** The `model` field every body-addressed API (OpenAI, Anthropic, Groq) requires. */
export function requireModel(body: Record<string, unknown>): string {
  const model = body['model'];
  if (typeof model !== 'string' || model === '') {
    throw new GatewayError('invalid_request', 'The request body must name a model in its "model" field.');
  }
  return model;
}

/** `withModel` for the APIs that name the model in the body's `model` field (OpenAI, Anthropic, Groq). */
export function withBodyModel(request: RequestView, rewrite: (model: string) => string): RequestView {
  const model = request.body['model'];
  if (typeof model !== 'string') return request;
  const wanted = rewrite(model);
  return wanted === model ? request : { ...request, body: { ...request.body, model: wanted } };
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

/** No API's tier name is longer; a longer value is echoed nowhere. */
const MAX_TIER_LENGTH = 64;

/**
 * A request's service tier field: absent or null is undefined (the standard tier); a short string
 * is the tier's name. Anything else is refused: the gateway could not price it, and the provider
 * might read it as a tier the gateway does not.
 */
export function tierField(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && value !== '' && value.length <= MAX_TIER_LENGTH) return value;
  throw new GatewayError('invalid_request', `"${name}" must be a service tier's name, or absent.`);
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
