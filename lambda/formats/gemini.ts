import { GatewayError } from '../core/errors';
import type { StreamMessage } from '../metering/framing';
import { GEMINI_TIERS, tierFromHeaders, tierFromUsageMetadata } from './gemini-tier';
import { FREE, isObject, largestCount, parseJson } from './shared';
import type { Metered, Operation, PreparedRequest, StreamUsageReader, WireFormat } from './types';
import { parseVertexPath } from './vertex-path';

/**
 * Gemini's wire format (`GenerateContentResponse`), as Vertex AI serves it. The body names no
 * model: it is the path's `…/models/{model}:{action}`, refined by the response's `modelVersion`.
 * Usage is the `usageMetadata` block, read by genai-prices' `default` extractor for `google`
 * (cached, thinking and per-modality tokens included). Service tiers: `gemini-tier.ts`.
 */
const METERED: Readonly<Record<string, Operation & { kind: 'metered' }>> = {
  generateContent: { kind: 'metered', name: 'generateContent' },
  // Without `?alt=sse` Vertex streams a JSON array under `application/json`: `streams` makes the
  // meter frame it as one instead of buffering it as a document.
  streamGenerateContent: { kind: 'metered', name: 'streamGenerateContent', streams: true },
};

/** Actions that run no model. */
const FREE_ACTIONS = new Set(['countTokens', 'computeTokens']);

const USAGE_FLAVOR = 'default';

/**
 * Free GETs are the base-model catalogue only. Every other Vertex GET or DELETE — tuned models,
 * endpoints, datasets, batch prediction jobs, operations, cached contents — reads or changes the
 * gateway project's objects, which all gateway keys share, so it is refused.
 */
export const geminiFormat: WireFormat = {
  id: 'gemini',
  // `…` is `/v1[beta1]/[projects/{project}/locations/{location}/]publishers/{publisher}`; a tuned model's `…/endpoints/{id}` takes the same actions.
  endpoints: {
    metered: Object.keys(METERED).map((action) => `POST …/models/{model}:${action}`),
    free: [
      ...[...FREE_ACTIONS].map((action) => `POST …/models/{model}:${action}`),
      'GET /v1/publishers/{publisher}/models',
      'GET /v1/publishers/{publisher}/models/{model}',
    ],
  },

  classify(method, providerPath) {
    const path = parseVertexPath(providerPath);
    if (path === undefined) return undefined;
    if (path.kind === 'base-models') return method === 'GET' || method === 'HEAD' ? FREE : undefined;
    if (method !== 'POST') return undefined;
    if (FREE_ACTIONS.has(path.action)) return FREE;
    return Object.hasOwn(METERED, path.action) ? METERED[path.action] : undefined;
  },

  prepare(_operation, { providerPath }): PreparedRequest {
    const path = parseVertexPath(providerPath);
    if (path?.kind !== 'action') {
      throw new GatewayError('invalid_request', 'The request path must name a model, as …/models/{model}:generateContent.');
    }
    return { model: path.model };
  },

  // On thinking models the cap covers thoughts as well as the answer, so it bounds everything billed
  // as output. Not 0: in protobuf a 0 is no value at all, and Vertex would apply its default.
  maxOutputTokens: (_operation, { body }) => largestGenerationCount(body, 'maxOutputTokens', 'max_output_tokens', 1),

  // Every candidate is billed as output.
  outputCount: (_operation, { body }) => largestGenerationCount(body, 'candidateCount', 'candidate_count', 1) ?? 1,

  usageFromBody(_operation, body, headers): Metered {
    // A streamed array can still arrive whole (e.g. a client that buffered it): its last usage counts.
    const chunks = Array.isArray(body) ? body : [body];
    const reader = usageReader();
    for (const chunk of chunks) reader.onChunk(chunk);
    const metered = reader.result();
    // The Developer API names the tier that ran in a header (a stream's reader sees no headers: it is charged at the tier in its body, else the one asked for).
    const tier = tierFromHeaders(headers);
    return tier === undefined ? metered : { ...metered, tier };
  },

  streamReader(): StreamUsageReader {
    const reader = usageReader();
    return {
      // Every Vertex chunk carries `modelVersion` and `usageMetadata`, so there is no cheap skip.
      onMessage(message: StreamMessage) {
        const chunk = parseJson(message.data);
        reader.onChunk(chunk);
        return chunk;
      },
      result: () => reader.result(),
    };
  },

  tiers: GEMINI_TIERS,

  withModel(request, rewrite) {
    const path = parseVertexPath(request.providerPath);
    if (path?.kind !== 'action') return request;
    const wanted = rewrite(path.model);
    if (wanted === path.model) return request;
    // Only the last segment, `{model}:{action}`, changes; the path is parsed again (and so checked) wherever it is read.
    const parent = request.providerPath.slice(0, request.providerPath.lastIndexOf('/'));
    return { ...request, providerPath: `${parent}/${wanted}:${path.action}` };
  },

  renderError(error) {
    return { contentType: 'application/json', body: googleError(error) };
  },

  // Google's streams end in an error element of the same shape as an error response: the Gen AI
  // SDK raises an ApiError for it, in an SSE stream or a streamed array alike.
  streamError(_operation, error, framing) {
    if (framing === 'sse') return { framing, data: googleError(error) };
    if (framing === 'json-array') return { framing, data: googleError(error) };
    return undefined;
  },
};

function googleError(error: GatewayError): string {
  return JSON.stringify({ error: { code: error.status, message: error.message, status: googleStatus(error.status) } });
}

/**
 * Vertex parses request bodies as protobuf JSON, which accepts a field under its lowerCamelCase
 * name and under its proto name alike: both spellings are read, and the larger value counts.
 */
function largestGenerationCount(body: Record<string, unknown>, camel: string, snake: string, min: number): number | undefined {
  const fields: [unknown, string][] = [];
  for (const [config, name] of [[body['generationConfig'], 'generationConfig'], [body['generation_config'], 'generation_config']] as const) {
    if (!isObject(config)) continue;
    fields.push([config[camel], `${name}.${camel}`], [config[snake], `${name}.${snake}`]);
  }
  return largestCount(fields, min);
}

/**
 * Vertex streams put `usageMetadata` on every chunk, but only the last carries the token counts
 * (earlier ones hold just `trafficType`); so the last block that counts any tokens wins.
 */
function usageReader(): { onChunk(chunk: unknown): void; result(): Metered } {
  let model: string | undefined;
  let usage: Record<string, unknown> | undefined;
  let failure: string | undefined;
  let tier: string | undefined;
  return {
    onChunk(chunk) {
      if (!isObject(chunk)) return;
      if (typeof chunk['modelVersion'] === 'string' && chunk['modelVersion'] !== '') model = chunk['modelVersion'];
      const metadata = chunk['usageMetadata'];
      if (isObject(metadata)) {
        if (countsTokens(metadata)) usage = metadata;
        // Vertex names the traffic type on every chunk; the last one named counts.
        tier = tierFromUsageMetadata(metadata) ?? tier;
      }
      // An error element inside a 200 stream: the request failed after it started.
      const error = chunk['error'];
      if (isObject(error)) failure = typeof error['message'] === 'string' ? error['message'] : JSON.stringify(error);
    },
    result() {
      return {
        ...(model !== undefined && { model }),
        ...(usage !== undefined && { usage: { flavor: USAGE_FLAVOR, doc: { usageMetadata: usage } } }),
        ...(failure !== undefined && { failure }),
        ...(tier !== undefined && { tier }),
      };
    },
  };
}

function countsTokens(metadata: Record<string, unknown>): boolean {
  return Object.entries(metadata).some(([field, value]) => field.endsWith('TokenCount') && typeof value === 'number');
}

/** The canonical gRPC status names Google's APIs put in `error.status`. */
function googleStatus(status: number): string {
  switch (status) {
    case 400:
    case 413:
      return 'INVALID_ARGUMENT';
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'PERMISSION_DENIED';
    case 404:
      return 'NOT_FOUND';
    case 429:
      return 'RESOURCE_EXHAUSTED';
    case 502:
    case 503:
      return 'UNAVAILABLE';
    case 408:
    case 504:
      return 'DEADLINE_EXCEEDED';
    default:
      return status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION';
  }
}

/** The metered actions, for other ways of serving this format (the Gemini Developer API's paths). */
export { METERED as GEMINI_METERED_ACTIONS };
