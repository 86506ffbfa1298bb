import type { StreamMessage } from '../metering/framing';
import { openaiFormat } from './openai';
import { tierPrices } from '../pricing/tiers';
import { endpointTable, FREE, isObject, parseJson, requireModel, tierField, withBodyModel } from './shared';
import type { Metered, PreparedRequest, StreamUsageReader, TierReading, WireFormat } from './types';

// Files and batches are stores shared by every gateway key (and batches would run unmetered): refused.
const ENDPOINTS = endpointTable(
  [
    { method: 'POST', path: '/openai/v1/chat/completions', operation: { kind: 'metered', name: 'chat' } },
    { method: 'GET', path: '/openai/v1/models', operation: FREE },
    { method: 'GET', path: '/openai/v1/models/{model}', operation: FREE },
  ],
  // Groq's model ids hold a slash (`openai/gpt-oss-120b`), which groq-sdk sends as `%2F` in one segment.
  { slash: true },
);

const USAGE_FLAVOR = 'default';

/**
 * Groq's `service_tier`: `on_demand` (the default) and `flex` are priced alike; `performance` is
 * provisioned capacity bought by contract, charged here at the on-demand rates; `auto` picks among them.
 */
const TIERS: TierReading = {
  requestTier: (_operation, { body }) => tierField(body['service_tier'], 'service_tier'),
  serviceTiers: tierPrices({ on_demand: 1, flex: 1, auto: 1, performance: 1 }),
};

/**
 * OpenAI's chat format as Groq serves it: under `/openai/v1`, errors in OpenAI's shape, and a
 * stream that reports usage in its final chunk under `x_groq.usage` without being asked (and
 * at the top level too when the client sets `stream_options.include_usage`). The usage block is
 * OpenAI's; genai-prices reads it with Groq's own `default` extractor.
 */
export const groqFormat: WireFormat = {
  id: 'groq',
  endpoints: ENDPOINTS.endpoints,
  classify: ENDPOINTS.classify,

  prepare(_operation, { body }): PreparedRequest {
    const model = requireModel(body);
    // Unlike OpenAI, Groq reports stream usage unasked, so the body goes upstream exactly as sent.
    return { model };
  },

  // Groq reads OpenAI's chat fields, output caps and `n` among them.
  maxOutputTokens: (operation, request) => openaiFormat.maxOutputTokens?.(operation, request),
  outputCount: (operation, request) => openaiFormat.outputCount?.(operation, request) ?? 1,

  usageFromBody(_operation, body): Metered {
    if (!isObject(body)) return {};
    return usageOf(body, body['usage']);
  },

  streamReader: () => chatStreamReader(),

  tiers: TIERS,

  withModel: withBodyModel,

  renderError: (error) => openaiFormat.renderError(error),

  // groq-sdk, like OpenAI's, raises an error for a chunk holding an `error` object.
  streamError: (_operation, error, framing) => openaiFormat.streamError('chat', error, framing),
};

function chatStreamReader(): StreamUsageReader {
  let result: Metered = {};
  let failure: string | undefined;
  return {
    onMessage(message: StreamMessage) {
      // Only the final chunk carries usage (and a failed stream an error): skip the content deltas unparsed.
      const mayMatter = message.data.includes('"usage"') || message.data.includes('"error"');
      if (!mayMatter && result.model !== undefined) return undefined;
      const chunk = parseJson(message.data);
      if (!isObject(chunk)) return chunk;
      const extension = isObject(chunk['x_groq']) ? chunk['x_groq'] : {};
      failure = streamError(chunk['error']) ?? streamError(extension['error']) ?? failure;
      // The top-level block is the one the client asked for; `x_groq.usage` holds the same counts.
      const usage = isObject(chunk['usage']) ? chunk['usage'] : extension['usage'];
      if (isObject(usage)) result = usageOf(chunk, usage);
      else if (result.model === undefined && typeof chunk['model'] === 'string') result = { ...result, model: chunk['model'] };
      return chunk;
    },
    result: () => (failure === undefined ? result : { ...result, failure }),
  };
}

function usageOf(chunk: Record<string, unknown>, usage: unknown): Metered {
  const model = typeof chunk['model'] === 'string' ? chunk['model'] : undefined;
  if (!isObject(usage)) return { model };
  const tier = chunk['service_tier'];
  return { model, usage: { flavor: USAGE_FLAVOR, doc: { model, usage } }, ...(typeof tier === 'string' && { tier }) };
}

/** groq-sdk fails a stream on a chunk with an `error` object; Groq also names a cut-short stream in `x_groq.error`. */
function streamError(error: unknown): string | undefined {
  if (typeof error === 'string' && error !== '') return error;
  if (isObject(error)) return typeof error['message'] === 'string' ? error['message'] : 'error in stream';
  return undefined;
}

