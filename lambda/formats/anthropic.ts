import type { StreamMessage } from '../metering/framing';
import { tierPrices } from '../pricing/tiers';
import { countField, endpointTable, FREE, isObject, parseJson, requireModel, tierField, withBodyModel } from './shared';
import type { Metered, PreparedRequest, StreamUsageReader, TierReading, UsageDocument, WireFormat } from './types';

/**
 * Anthropic's Messages API. Usage is read with genai-prices' `default` Anthropic extractor,
 * which counts cache writes (with their 5-minute / 1-hour split) and cache reads itself.
 *
 * `count_tokens` runs no model and Anthropic does not bill it. Message batches (whose results
 * hold other callers' conversations, and whose requests would run unmetered) and files are
 * stores shared by every gateway key, so they are refused. The beta SDK's `?beta=true` is a
 * query flag that leaves the path, and so what is allowed, unchanged.
 */
const ENDPOINTS = endpointTable([
  { method: 'POST', path: '/v1/messages', operation: { kind: 'metered', name: 'messages' } },
  { method: 'POST', path: '/v1/messages/count_tokens', operation: FREE },
  { method: 'GET', path: '/v1/models', operation: FREE },
  { method: 'GET', path: '/v1/models/{model}', operation: FREE },
]);

const USAGE_FLAVOR = 'default';
/** Read with Anthropic's extractor wherever Claude is served: another provider's (Google's) drops the 1-hour cache-write split. */
const USAGE_EXTRACTOR = 'anthropic';

/**
 * The request's `service_tier` is `auto` (Priority Tier when the organisation has its capacity) or
 * `standard_only`; the response's `usage.service_tier` says `standard`, `priority` or `batch`.
 * Priority Tier is priced by contract: ×2 here unless the account says its own; batch is half price.
 */
const TIERS: TierReading = {
  requestTier: (_operation, { body }) => tierField(body['service_tier'], 'service_tier'),
  serviceTiers: tierPrices({ auto: 2, standard_only: 1, standard: 1, priority: 2, batch: 0.5 }),
};

export const anthropicFormat: WireFormat = {
  id: 'anthropic',
  endpoints: ENDPOINTS.endpoints,
  classify: ENDPOINTS.classify,

  prepare(_operation, { body }): PreparedRequest {
    const model = requireModel(body);
    // Anthropic streams always carry usage, so the body goes upstream exactly as sent.
    return { model };
  },

  // Required by the API; extended thinking counts against it too, so it bounds every output token.
  maxOutputTokens: (_operation, { body }) => countField(body['max_tokens'], 'max_tokens', 1),

  usageFromBody(_operation, body): Metered {
    if (!isObject(body)) return {};
    const model = typeof body['model'] === 'string' ? body['model'] : undefined;
    return { model, usage: { flavor: USAGE_FLAVOR, extractorProvider: USAGE_EXTRACTOR, doc: body }, ...tierOf(body['usage']) };
  },

  streamReader: () => messagesStreamReader(),

  tiers: TIERS,

  withModel: withBodyModel,

  renderError(error) {
    return {
      contentType: 'application/json',
      body: JSON.stringify({ type: 'error', error: { type: errorType(error.status), message: error.message } }),
    };
  },

  // What Anthropic itself sends when a stream fails after it began (an `overloaded_error`, say).
  streamError(_operation, error, framing) {
    if (framing !== 'sse') return undefined;
    return { framing, event: 'error', data: JSON.stringify({ type: 'error', error: { type: errorType(error.status), message: error.message } }) };
  },
};

/**
 * Usage arrives in two halves: `message_start` holds the input side (cache reads and writes
 * included) and a first output count; each `message_delta` holds cumulative totals that replace
 * what came before — server tools can send several, so they are never added up. The first output
 * count is a placeholder: a stream cut before any `message_delta` reports no usage (and is charged
 * its reservation), unless the model's own `error` event ended it, when what it counted stands.
 */
function messagesStreamReader(): StreamUsageReader {
  let model: string | undefined;
  let usage: Record<string, unknown> | undefined;
  let counted = false;
  let failure: string | undefined;
  return {
    onMessage(message: StreamMessage) {
      // Content deltas are nearly all of a stream and carry no usage: skip them unparsed.
      if (message.framing === 'sse' && message.event !== undefined && !USAGE_EVENTS.has(message.event)) return undefined;
      const event = parseJson(message.data);
      if (!isObject(event)) return event;
      switch (event['type']) {
        case 'message_start': {
          const started = event['message'];
          if (!isObject(started)) break;
          if (typeof started['model'] === 'string') model = started['model'];
          if (isObject(started['usage'])) usage = { ...started['usage'] };
          break;
        }
        case 'message_delta':
          if (isObject(event['usage'])) {
            usage = { ...usage, ...withoutNulls(event['usage']) };
            counted = true;
          }
          break;
        case 'error':
          failure = describeStreamError(event['error']);
          break;
      }
      return event;
    },
    result(): Metered {
      const read = counted || failure !== undefined ? usage : undefined;
      const document: UsageDocument | undefined = read && { flavor: USAGE_FLAVOR, extractorProvider: USAGE_EXTRACTOR, doc: { model, usage: read } };
      // The tier goes with the usage it prices: none when the usage is not read either.
      return { model, usage: document, failure, ...(read && tierOf(read)) };
    },
  };
}

/** `usage.service_tier`, which Anthropic reports beside the counts. */
export function tierOf(usage: unknown): Pick<Metered, 'tier'> {
  const tier = isObject(usage) ? usage['service_tier'] : undefined;
  return typeof tier === 'string' ? { tier } : {};
}

const USAGE_EVENTS: ReadonlySet<string> = new Set(['message_start', 'message_delta', 'error']);

/** A delta omits (or nulls) the counters that do not apply; those keep their `message_start` value. */
function withoutNulls(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== null && value !== undefined));
}

function describeStreamError(error: unknown): string {
  if (!isObject(error)) return 'error event in stream';
  const type = typeof error['type'] === 'string' ? error['type'] : 'error';
  return typeof error['message'] === 'string' ? `${type}: ${error['message']}` : type;
}

/** Anthropic's error types, by the status the gateway answers with (or a provider that does not name its error). */
export function errorType(status: number): string {
  switch (status) {
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

