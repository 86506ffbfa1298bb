import { GatewayError } from '../core/errors';
import { anthropicFormat } from '../formats/anthropic';
import { FREE } from '../formats/shared';
import type { Operation, PreparedRequest } from '../formats/types';
import { parseVertexPath, type VertexPath } from '../formats/vertex-path';
import type { VertexOptions } from './google-vertex';
import { anthropicErrorFromGoogle } from './claude-errors';
import { translatedJson } from './json-document';
import { checkGoogleQuery } from './google-query';
import { queryAllowList } from './query-allow-list';
import type { FormatBinding, Outbound, OutboundRequest } from './types';
import { vertexUpstreamPath } from './vertex-project';

/** Where Vertex's API reads the version Anthropic's takes from the `anthropic-version` header. */
export const VERTEX_ANTHROPIC_VERSION = 'vertex-2023-10-16';

const MESSAGES = '/v1/messages';
const COUNT_TOKENS = '/v1/messages/count_tokens';
const PUBLISHER = 'publishers/anthropic/models';
/** Vertex counts tokens at a fixed model name, with the model in the body. */
const COUNT_TOKENS_MODEL = 'count-tokens';

const METERED: Readonly<Record<string, Operation>> = {
  rawPredict: { kind: 'metered', name: 'rawPredict' },
  streamRawPredict: { kind: 'metered', name: 'streamRawPredict' },
};
/** The same name as on the anthropic kind, so a route mixing both shares one operation. */
const MESSAGES_OPERATION: Operation = { kind: 'metered', name: 'messages' };

/** Anthropic's SDK marks its beta resources with `?beta=true`; Vertex has no such parameter, and would refuse it. */
const checkMessagesQuery = queryAllowList(['beta'], 'Vertex for Claude');

/**
 * Claude on Vertex AI: Anthropic's Messages API, served by the google-vertex kind in two spellings.
 *
 * ```
 * POST /v1[beta1]/[projects/{p}/locations/{l}/]publishers/anthropic/models/{m}:rawPredict        what AnthropicVertex sends,
 * POST /v1[beta1]/[projects/{p}/locations/{l}/]publishers/anthropic/models/{m}:streamRawPredict  forwarded as they are
 * POST /v1[beta1]/[projects/{p}/locations/{l}/]publishers/anthropic/models/count-tokens:rawPredict      (free)
 * POST /v1/messages                 Anthropic's own path: rewritten to :rawPredict or :streamRawPredict
 * POST /v1/messages/count_tokens    rewritten to count-tokens:rawPredict (free)
 * ```
 *
 * Either way the project and location are the gateway's, as for Gemini. For `/v1/messages` the
 * model moves from the body into the path (the attempt's model, which a route may have rewritten),
 * `anthropic_version` is set to {@link VERTEX_ANTHROPIC_VERSION} unless the body names one, and
 * `stream: true` picks `streamRawPredict`. Bodies, usage and errors are Anthropic's; Vertex's own
 * errors (a spent quota, in Google's `{"error":{"status"}}`) are rewritten into Anthropic's shape.
 *
 * Priced under genai-prices' `google` provider: its Claude rates are Vertex's, and where it has
 * none for a model genai-prices falls back to Anthropic's. Usage is read by Anthropic's extractor
 * (see the anthropic format), which keeps 1-hour cache writes apart.
 *
 * @example
 * // POST /proxy/google-vertex/v1/messages  {"model":"claude-sonnet-4-5@20250929","max_tokens":1024,"messages":[…]}
 * // goes to POST /v1/projects/acme-ai/locations/global/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict
 * //         {"anthropic_version":"vertex-2023-10-16","max_tokens":1024,"messages":[…]}
 */
export const vertexAnthropic: FormatBinding<VertexOptions> = {
  format: 'anthropic',
  pricingId: 'google',
  endpoints: {
    metered: ['POST …/publishers/anthropic/models/{model}:rawPredict', 'POST …/publishers/anthropic/models/{model}:streamRawPredict', 'POST /v1/messages'],
    free: ['POST …/publishers/anthropic/models/count-tokens:rawPredict', 'POST /v1/messages/count_tokens'],
  },

  classify(method, providerPath) {
    if (method !== 'POST') return undefined;
    if (providerPath === MESSAGES) return MESSAGES_OPERATION;
    if (providerPath === COUNT_TOKENS) return FREE;
    const path = claudePath(providerPath);
    if (path === undefined) return undefined;
    if (path.model === COUNT_TOKENS_MODEL) return path.action === 'rawPredict' ? FREE : undefined;
    return Object.hasOwn(METERED, path.action) ? METERED[path.action] : undefined;
  },

  checkQuery(query, providerPath) {
    if (isAnthropicPath(providerPath)) checkMessagesQuery(query);
    else checkGoogleQuery(query);
  },

  prepare(operation, request): PreparedRequest {
    if (isAnthropicPath(request.providerPath)) return anthropicFormat.prepare(operation, request);
    const path = claudePath(request.providerPath);
    if (path === undefined) throw new GatewayError('invalid_request', 'The request path must name a model, as …/publishers/anthropic/models/{model}:rawPredict.');
    return { model: path.model };
  },

  outbound(request, options): Outbound {
    switch (request.providerPath) {
      case MESSAGES:
        return messagesOutbound(request, options);
      case COUNT_TOKENS:
        // Vertex's count-tokens takes Anthropic's body as it is, model included.
        return { path: vertexUpstreamPath(modelPath(COUNT_TOKENS_MODEL, 'rawPredict'), options), query: '' };
      default: {
        const path = claudePath(request.providerPath);
        if (path === undefined) throw new GatewayError('unsupported_endpoint', `${request.providerPath} is not a Claude path tollgate forwards to Vertex.`);
        return { path: vertexUpstreamPath(path, options) };
      }
    }
  },

  // Vertex's own refusals (quota, permission) are Google's; Claude's pass through in Anthropic's shape.
  reframeError: (response) => translatedJson(response, anthropicErrorFromGoogle),
};

/** The attempt's model into the path, out of the body; Vertex's version in the body. */
function messagesOutbound(request: OutboundRequest, options: VertexOptions): Outbound {
  const { model: _model, ...body } = request.body;
  const action = body['stream'] === true ? 'streamRawPredict' : 'rawPredict';
  return {
    path: vertexUpstreamPath(modelPath(request.model, action), options),
    body: body['anthropic_version'] === undefined ? { anthropic_version: VERTEX_ANTHROPIC_VERSION, ...body } : body,
    query: '',
  };
}

/**
 * The path of `model`'s action, checked by the same parser as a caller's path: a model that
 * would read as another path (`a/b`, `x:y`, `%2F`, a fixed word) is refused, not encoded.
 */
function modelPath(model: string, action: string): VertexPath {
  const path = parseVertexPath(`/v1/${PUBLISHER}/${model}:${action}`);
  if (path?.kind !== 'action' || path.model !== model) {
    throw new GatewayError('invalid_request', `The model "${model}" is not a name tollgate can put in a Vertex path.`);
  }
  return path;
}

/** A Vertex action path on the anthropic publisher; undefined for any other. */
function claudePath(providerPath: string): (VertexPath & { kind: 'action' }) | undefined {
  const path = parseVertexPath(providerPath);
  return path?.kind === 'action' && path.resource === PUBLISHER ? path : undefined;
}

function isAnthropicPath(providerPath: string): boolean {
  return providerPath === MESSAGES || providerPath === COUNT_TOKENS;
}
