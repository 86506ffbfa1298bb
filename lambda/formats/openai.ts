import type { StreamMessage } from '../metering/framing';
import { tierPrices } from '../pricing/tiers';
import { countField, endpointTable, FREE, isObject, largestCount, parseJson, requireModel, tierField, withBodyModel } from './shared';
import type { Metered, PreparedRequest, StreamUsageReader, TierReading, WireFormat } from './types';

/**
 * OpenAI's wire format: Chat Completions, Responses and Embeddings.
 * Groq and other OpenAI-compatible APIs reuse the chat half of it.
 *
 * Free calls are the ones that read nothing another caller made. Everything OpenAI stores —
 * files, batches, fine-tuning jobs, vector stores, assistants, threads, stored chat completions,
 * and responses (`GET /responses/{id}` returns any response of the organisation, not only this
 * caller's) — is one store per provider credential, shared by every gateway key, so it is refused.
 */
const ENDPOINTS = endpointTable([
  { method: 'POST', path: '/chat/completions', operation: { kind: 'metered', name: 'chat' } },
  { method: 'POST', path: '/responses', operation: { kind: 'metered', name: 'responses' } },
  { method: 'POST', path: '/embeddings', operation: { kind: 'metered', name: 'embeddings' } },
  { method: 'GET', path: '/models', operation: FREE },
  // Fine-tuned models are listed here too, but only DELETE changes them, and DELETE is never forwarded.
  { method: 'GET', path: '/models/{model}', operation: FREE },
  { method: 'POST', path: '/responses/input_tokens', operation: FREE },
]);

/**
 * OpenAI's usage shapes, under OpenAI's extractors (`chat`, `responses`, `embeddings`): how a
 * server that speaks them is read when its pricing provider has no extractor of its own.
 */
const SHAPE = 'openai';

/**
 * `service_tier` on Chat Completions and Responses; the response names the tier that ran. Flex is
 * documented at half the standard price; priority at a premium of up to about ×2 by model (×2 here,
 * so no model is under-charged); `auto` runs at the project's tier, which may be priority; Scale
 * Tier is prepaid capacity, charged here at the standard rates.
 */
export const OPENAI_TIERS: TierReading = {
  requestTier: (_operation, { body }) => tierField(body['service_tier'], 'service_tier'),
  serviceTiers: tierPrices({ default: 1, auto: 2, flex: 0.5, priority: 2, scale: 1 }),
};

export const openaiFormat: WireFormat = {
  id: 'openai',
  endpoints: ENDPOINTS.endpoints,
  classify: ENDPOINTS.classify,

  prepare(operation, { body }): PreparedRequest {
    const model = requireModel(body);
    return { model, ...streamUsageFor(operation, body) };
  },

  // Only the fields the operation honours: a cap read from a field the server ignores would let
  // the output clamp charge less than was billed.
  maxOutputTokens(operation, { body }) {
    if (operation === 'embeddings') return 0;
    if (operation === 'responses') return countField(body['max_output_tokens'], 'max_output_tokens', 1);
    // Chat has max_completion_tokens and the older max_tokens.
    return largestCount(
      [
        [body['max_completion_tokens'], 'max_completion_tokens'],
        [body['max_tokens'], 'max_tokens'],
      ],
      1,
    );
  },

  // Only chat completions can ask for several choices; each is billed as output.
  outputCount: (operation, { body }) => (operation === 'chat' ? (countField(body['n'], 'n', 1) ?? 1) : 1),

  usageFromBody(operation, body): Metered {
    if (!isObject(body)) return {};
    return withModel(body, { flavor: operation, doc: body, shapeOf: SHAPE });
  },

  streamReader(operation): StreamUsageReader {
    return operation === 'responses' ? responsesStreamReader() : chatStreamReader();
  },

  tiers: OPENAI_TIERS,

  withModel: withBodyModel,

  renderError(error) {
    return {
      contentType: 'application/json',
      body: JSON.stringify({ error: { message: error.message, type: errorType(error.status), param: null, code: error.code } }),
    };
  },

  // The SDKs raise an APIError for any event whose data holds an `error` object. A Responses
  // stream names its error events `error`, with the fields of `ResponseErrorEvent` beside it.
  streamError(operation, error, framing) {
    if (framing !== 'sse') return undefined;
    const detail = { message: error.message, type: errorType(error.status), param: null, code: error.code };
    if (operation === 'responses') {
      return { framing, event: 'error', data: JSON.stringify({ type: 'error', code: error.code, message: error.message, param: null, error: detail }) };
    }
    return { framing, data: JSON.stringify({ error: detail }) };
  },
};

/** The rewrite that asks a streamed chat completion for its usage, if this request needs it. */
export function streamUsageFor(operation: string, body: Record<string, unknown>): Pick<PreparedRequest, 'rewritten'> {
  return operation === 'chat' && body['stream'] === true ? askForStreamUsage(body) : {};
}

/**
 * Without `include_usage` a chat stream carries no usage at all. We add it and pass the extra
 * final chunk (empty `choices`, a `usage` block) through unchanged: clients built on the
 * official SDKs already handle it, and rewriting the stream would break byte-for-byte delivery.
 */
function askForStreamUsage(body: Record<string, unknown>): Pick<PreparedRequest, 'rewritten'> {
  const options = isObject(body['stream_options']) ? body['stream_options'] : {};
  if (options['include_usage'] === true) return {};
  return { rewritten: { ...body, stream_options: { ...options, include_usage: true } } };
}

function chatStreamReader(): StreamUsageReader {
  let result: Metered = {};
  return {
    onMessage(event: StreamMessage) {
      // Only the last chunk carries usage; skip parsing the hundreds of content deltas before it
      // (but the first, for the model, which the last may not name).
      if (!event.data.includes('"usage"')) {
        if (result.model !== undefined) return undefined;
        const first = parseJson(event.data);
        if (isObject(first) && typeof first['model'] === 'string') result = { model: first['model'] };
        return first;
      }
      const chunk = parseJson(event.data);
      if (isObject(chunk) && isObject(chunk['usage'])) result = withModel(chunk, { flavor: 'chat', doc: chunk, shapeOf: SHAPE });
      return chunk;
    },
    result: () => result,
  };
}

/** Usage arrives once, on the terminal event (`response.completed`, `.incomplete` or `.failed`). */
function responsesStreamReader(): StreamUsageReader {
  let result: Metered = {};
  return {
    onMessage(event: StreamMessage) {
      if (!event.data.includes('"usage"')) return undefined;
      const payload = parseJson(event.data);
      const response = isObject(payload) ? payload['response'] : undefined;
      if (isObject(response) && isObject(response['usage'])) result = withModel(response, { flavor: 'responses', doc: response, shapeOf: SHAPE });
      return payload;
    },
    result: () => result,
  };
}

/** The document's model and the tier it ran at, beside its usage. */
function withModel(doc: Record<string, unknown>, usage: Metered['usage']): Metered {
  const model = doc['model'];
  const tier = doc['service_tier'];
  // Literals, not spreads of optional parts: this runs on every document.
  const metered: { model?: string; usage: Metered['usage']; tier?: string } = { usage };
  if (typeof model === 'string') metered.model = model;
  if (typeof tier === 'string') metered.tier = tier;
  return metered;
}

function errorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

