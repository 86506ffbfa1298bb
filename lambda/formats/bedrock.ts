import type { GatewayError } from '../core/errors';
import { decodeModelId, encodeModelId, parseModelPath, pricingModel } from './bedrock-model';
import { converseStreamReader, invokeStreamReader } from './bedrock-stream';
import { BEDROCK_TIERS, tierFromDocument, tierFromHeaders } from './bedrock-tier';
import { countsDocument, countsFromHeaders, documentFromBody } from './bedrock-usage';
import { countField, FREE, isObject, largestCount, listEndpoints } from './shared';
import type { Metered, Operation, StreamUsageReader, WireFormat } from './types';

/**
 * The Bedrock Runtime API: Converse and InvokeModel, streaming (AWS event-stream frames) and not.
 * InvokeModel bodies are the model vendor's own (Anthropic Messages for Claude); their usage is
 * read through genai-prices' `aws` extractors, whose `anthropic` flavour covers those bodies.
 *
 * Only `POST /model/{modelId}/{operation}` is forwarded, the operation spelled exactly (lower
 * case, nothing encoded): async invocations (`/async-invoke`, which write to the account's S3
 * and list every caller's jobs) and everything else are refused.
 */
const OPERATIONS: Readonly<Record<string, Operation>> = {
  converse: { kind: 'metered', name: 'converse' },
  'converse-stream': { kind: 'metered', name: 'converse-stream' },
  invoke: { kind: 'metered', name: 'invoke' },
  'invoke-with-response-stream': { kind: 'metered', name: 'invoke-stream' },
  'count-tokens': FREE,
};

export const bedrockFormat: WireFormat = {
  id: 'bedrock',
  endpoints: listEndpoints(
    Object.entries(OPERATIONS).map(([name, operation]) => ({ method: 'POST', path: `/model/{modelId}/${name}`, operation })),
  ),

  classify(method, providerPath) {
    const path = parseModelPath(providerPath);
    if (method !== 'POST' || !path) return undefined;
    return Object.hasOwn(OPERATIONS, path.operation) ? OPERATIONS[path.operation] : undefined;
  },

  prepare(_operation, { providerPath }) {
    const path = parseModelPath(providerPath);
    // classify() let only model paths through.
    if (!path) throw new Error(`not a Bedrock model path: ${providerPath}`);
    const requested = decodeModelId(path.segment);
    const model = pricingModel(requested);
    return { model, ...(model !== requested && { requestedModel: requested }) };
  },

  maxOutputTokens(operation, { body }) {
    const config = isObject(body['inferenceConfig']) ? body['inferenceConfig'] : {};
    if (operation.startsWith('converse')) {
      const cap = countField(config['maxTokens'], 'inferenceConfig.maxTokens', 1);
      // The model's own fields ride beside Converse's in `additionalModelRequestFields`, merged into
      // its native request: whether one there can raise the cap is the vendor's business, so a cap
      // it names may raise the bound, never make one where Converse's own is absent.
      const extra = isObject(body['additionalModelRequestFields']) ? body['additionalModelRequestFields'] : {};
      const raised = largestCount(
        [
          [extra['max_tokens'], 'additionalModelRequestFields.max_tokens'],
          [extra['maxTokens'], 'additionalModelRequestFields.maxTokens'],
          [extra['max_gen_len'], 'additionalModelRequestFields.max_gen_len'],
          [extra['max_new_tokens'], 'additionalModelRequestFields.max_new_tokens'],
        ],
        1,
      );
      return cap === undefined || raised === undefined ? cap : Math.max(cap, raised);
    }
    // InvokeModel bodies are the vendor's own: Anthropic, Mistral, Cohere and AI21 say max_tokens,
    // Llama max_gen_len, Nova inferenceConfig.max_new_tokens, Titan textGenerationConfig.maxTokenCount.
    const titan = isObject(body['textGenerationConfig']) ? body['textGenerationConfig'] : {};
    return largestCount(
      [
        [body['max_tokens'], 'max_tokens'],
        [body['maxTokens'], 'maxTokens'],
        [body['max_gen_len'], 'max_gen_len'],
        [config['max_new_tokens'], 'inferenceConfig.max_new_tokens'],
        [config['maxTokens'], 'inferenceConfig.maxTokens'],
        [titan['maxTokenCount'], 'textGenerationConfig.maxTokenCount'],
      ],
      1,
    );
  },

  // Which of those fields a vendor honours depends on the model: an InvokeModel cap bounds the
  // estimate, but usage past it is charged as reported, never cut to it.
  outputCapEnforced: (operation) => operation.startsWith('converse'),

  // Converse returns one answer; some vendors' InvokeModel bodies ask for several (Cohere, AI21).
  outputCount(operation, { body }) {
    if (operation.startsWith('converse')) return 1;
    return largestCount([[body['n'], 'n'], [body['num_generations'], 'num_generations'], [body['numResults'], 'numResults']], 1) ?? 1;
  },

  usageFromBody(operation, body, headers): Metered {
    if (operation === 'invoke') {
      // Bedrock's headers count every model's tokens; the body only some models'.
      const counts = countsFromHeaders(headers);
      if (counts) return { usage: countsDocument(counts), ...tierFromHeaders(headers) };
    }
    if (!isObject(body)) return {};
    const usage = documentFromBody(body);
    const tier = operation === 'invoke' ? tierFromHeaders(headers) : tierFromDocument(body);
    return usage ? { usage, ...tier } : {};
  },

  tiers: BEDROCK_TIERS,

  streamReader(operation): StreamUsageReader {
    return operation === 'converse-stream' ? converseStreamReader() : invokeStreamReader();
  },

  withModel(request, rewrite) {
    const path = parseModelPath(request.providerPath);
    if (!path) return request;
    const model = decodeModelId(path.segment);
    const wanted = rewrite(model);
    return wanted === model ? request : { ...request, providerPath: `/model/${encodeModelId(wanted)}/${path.operation}` };
  },

  renderError(error) {
    // The AWS SDKs read the exception name from `__type` when no `x-amzn-errortype` header is present.
    return { contentType: 'application/json', body: JSON.stringify({ message: error.message, __type: exceptionName(error) }) };
  },

  // An exception frame, as Bedrock sends when a model fails mid-stream: the AWS SDKs raise it as
  // the modelled exception it names (both stream unions have these two).
  streamError(_operation, error, framing) {
    if (framing !== 'aws-eventstream') return undefined;
    const exception = error.status === 502 || error.status === 503 ? 'serviceUnavailableException' : 'internalServerException';
    return {
      framing,
      headers: { ':message-type': 'exception', ':exception-type': exception, ':content-type': 'application/json' },
      data: JSON.stringify({ message: error.message }),
    };
  },
};

function exceptionName(error: GatewayError): string {
  switch (error.status) {
    case 401:
      return 'UnrecognizedClientException';
    // A spent budget: Bedrock's own name for a quota that retrying will not lift.
    case 402:
      return 'ServiceQuotaExceededException';
    case 403:
      return 'AccessDeniedException';
    case 404:
      return 'ResourceNotFoundException';
    case 429:
      return 'ThrottlingException';
    case 502:
    case 503:
      return 'ServiceUnavailableException';
    default:
      return error.status >= 500 ? 'InternalServerException' : 'ValidationException';
  }
}
