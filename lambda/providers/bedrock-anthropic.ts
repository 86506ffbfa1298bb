import { GatewayError } from '../core/errors';
import type { IncomingHeaders } from '../core/http-types';
import { anthropicFormat } from '../formats/anthropic';
import { encodeModelId, pricingModel } from '../formats/bedrock-model';
import { BEDROCK_TIERS } from '../formats/bedrock-tier';
import type { Metered, Operation, StreamUsageReader } from '../formats/types';
import { FREE, isObject, parseJson } from '../formats/shared';
import { anthropicSseFromEventStream, GAVE_UP_FIELD } from './bedrock-anthropic-stream';
import { bedrockModelId, foundationModelId, type ClaudeModelOptions } from './bedrock-claude-models';
import { anthropicErrorFromBedrock } from './claude-errors';
import { translatedJson, type JsonDocument } from './json-document';
import type { FormatBinding, Outbound, OutboundRequest, UsageReading } from './types';

const MESSAGES: Operation = { kind: 'metered', name: 'messages' };
const MESSAGES_PATH = '/v1/messages';
const COUNT_TOKENS_PATH = '/v1/messages/count_tokens';

/** What Bedrock's InvokeModel takes in place of Anthropic's `anthropic-version` header. */
export const BEDROCK_ANTHROPIC_VERSION = 'bedrock-2023-05-31';

const EVENT_STREAM = 'application/vnd.amazon.eventstream';

/**
 * Claude on Bedrock through Anthropic's Messages API: `POST /v1/messages` on a Bedrock route is
 * sent to `/model/<Bedrock id>/invoke`, or `/invoke-with-response-stream` for `"stream": true`,
 * with the body Bedrock takes (no `model`, no `stream`, `anthropic_version` defaulted). The model
 * name becomes a Bedrock id through {@link bedrockModelId}. Bedrock's answer is Anthropic's JSON
 * unchanged; its event stream is unwrapped into Anthropic's SSE, and its errors (`{"message"}`,
 * typed by `x-amzn-errortype`) become Anthropic's: the cases where the gateway changes a response's
 * bytes. Priced with genai-prices' `aws` prices for the Bedrock id.
 */
export const bedrockAnthropic: FormatBinding<ClaudeModelOptions> = {
  format: 'anthropic',
  pricingId: 'aws',

  classify(method, providerPath) {
    if (method !== 'POST') return undefined;
    if (providerPath === MESSAGES_PATH) return MESSAGES;
    return providerPath === COUNT_TOKENS_PATH ? FREE : undefined;
  },
  endpoints: { metered: [`POST ${MESSAGES_PATH}`], free: [`POST ${COUNT_TOKENS_PATH}`] },
  readsFreeBody: true,
  // Bedrock reads the tier from its headers, whatever API the body speaks.
  tiers: BEDROCK_TIERS,

  prepare(operation, request, options) {
    const { model } = anthropicFormat.prepare(operation, request);
    // Allow-lists judge the name the caller wrote, not the Bedrock id it is priced as.
    return { model: pricingModel(bedrockModelId(model, options)), requestedModel: model };
  },

  outbound(request, options) {
    if (request.providerPath === COUNT_TOKENS_PATH) return countTokensOutbound(request, options);
    const { model: _model, stream, ...body } = request.body;
    const id = bedrockModelId(modelAskedFor(request, options), options);
    const operation = stream === true ? 'invoke-with-response-stream' : 'invoke';
    // Bedrock's invoke takes no query: the SDK's `?beta=true` has no meaning there.
    return { path: `/model/${encodeModelId(id)}/${operation}`, body: invokeBody(body, request.headers), query: '' };
  },

  reframe(response, limits, providerPath) {
    if (providerPath === COUNT_TOKENS_PATH) return translatedJson(response, anthropicTokenCount);
    if (headerString(response.headers['content-type'])?.split(';')[0]?.trim().toLowerCase() !== EVENT_STREAM) return response;
    const { headers } = response;
    const body = anthropicSseFromEventStream(response.body, headerString(headers['content-encoding']), limits.maxBufferedBytes);
    // The response's own header object, made for it alone (as metering treats it too).
    headers['content-type'] = 'text/event-stream; charset=utf-8';
    delete headers['content-length'];
    delete headers['content-encoding'];
    return { status: response.status, headers, body, bytes: () => collect(body, limits.maxBufferedBytes), discard: response.discard };
  },

  reframeError: (response) => translatedJson(response, anthropicErrorFromBedrock),

  usageReading: bedrockUsageReading(),
};

/** The beta that opened Anthropic's own count_tokens endpoint (the SDK's beta resource still sends it): no model feature, nothing for Bedrock. */
const TOKEN_COUNTING_BETA = 'token-counting-';

/**
 * Bedrock's CountTokens for Anthropic's count_tokens: the body InvokeModel would get, base64 in
 * `{"input":{"invokeModel":{"body":…}}}`, at the model's bare foundation id (CountTokens refuses
 * inference profiles). Anthropic's count_tokens takes no `max_tokens`, which InvokeModel's Claude
 * body requires; one is added when absent, as it counts no input. The caller's betas go along,
 * but for the one that opened Anthropic's own count_tokens endpoint.
 */
function countTokensOutbound(request: OutboundRequest, options: ClaudeModelOptions): Outbound {
  const { model, stream: _stream, ...body } = request.body;
  if (typeof model !== 'string' || model === '') throw new GatewayError('invalid_request', 'model: a count_tokens request names the model to count for.');
  const invoke = invokeBody({ max_tokens: 1, ...body }, request.headers, (beta) => !beta.startsWith(TOKEN_COUNTING_BETA));
  let encoded: string;
  try {
    encoded = Buffer.from(JSON.stringify(invoke)).toString('base64');
  } catch (error) {
    if (error instanceof RangeError) throw new GatewayError('invalid_json', 'The request body is nested too deeply to forward.', { cause: error });
    throw error;
  }
  return { path: `/model/${encodeModelId(foundationModelId(model, options))}/count-tokens`, body: { input: { invokeModel: { body: encoded } } }, query: '' };
}

/** Bedrock's `{"inputTokens": N}` as Anthropic's `{"input_tokens": N}`; anything else as it came. */
function anthropicTokenCount({ json }: JsonDocument): Record<string, unknown> | undefined {
  return isObject(json) && typeof json['inputTokens'] === 'number' ? { input_tokens: json['inputTokens'] } : undefined;
}

/**
 * What InvokeModel takes: the Messages body with Bedrock's `anthropic_version` unless the caller
 * set one, and the betas of the `anthropic-beta` header as the `anthropic_beta` array Bedrock reads
 * (as `@anthropic-ai/bedrock-sdk` moves them), unless the body names its own.
 */
function invokeBody(body: Record<string, unknown>, headers: IncomingHeaders | undefined, keeps: (beta: string) => boolean = () => true): Record<string, unknown> {
  const header = headers?.['anthropic-beta'];
  const betas = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((beta) => beta.trim())
    .filter((beta) => beta !== '' && keeps(beta));
  const withBetas = betas.length > 0 && body['anthropic_beta'] === undefined ? { anthropic_beta: betas, ...body } : body;
  return { anthropic_version: BEDROCK_ANTHROPIC_VERSION, ...withBetas };
}

/**
 * The model to address. `request.model` is what the request is priced as, which for a profile
 * genai-prices does not list is the bare model it routes to: unless a route member rewrote the
 * model, the id is mapped again from the name in the body, so the profile is never lost.
 */
function modelAskedFor(request: OutboundRequest, options: ClaudeModelOptions): string {
  const named = request.body['model'];
  return typeof named === 'string' && pricingModel(bedrockModelId(named, options)) === request.model ? named : request.model;
}

/**
 * Anthropic's usage, read with genai-prices' `aws` extractor for Anthropic bodies. The model the
 * response names (`claude-sonnet-4-5-20250929`) is dropped: the Bedrock id asked for is the
 * exact price (a `global.` profile costs less than the regional one that name matches).
 */
function bedrockUsageReading(): UsageReading {
  return {
    usageFromBody: (operation, body, headers) => onBedrock(anthropicFormat.usageFromBody(operation, body, headers)),
    streamReader(operation): StreamUsageReader {
      const reader = anthropicFormat.streamReader(operation);
      let unreadable: string | undefined;
      return {
        onMessage(message) {
          if (message.framing === 'sse' && message.event === 'error') unreadable ??= gaveUpReason(message.data);
          return reader.onMessage(message);
        },
        result() {
          // Thrown, so that metering gives up as it would on a stream it could not parse: the
          // model's usage is unknown, and the request is charged its reservation.
          if (unreadable !== undefined) throw new BedrockStreamUnreadableError(unreadable);
          return onBedrock(reader.result());
        },
      };
    },
  };
}

/** The gateway stopped unwrapping a Bedrock stream before its end; only the reason is kept. */
export class BedrockStreamUnreadableError extends Error {
  constructor(readonly reason: string) {
    super(`Bedrock's stream could not be read to its end (${reason}).`);
    this.name = 'BedrockStreamUnreadableError';
  }
}

function gaveUpReason(data: string): string | undefined {
  const event = parseJson(data);
  const reason = isObject(event) ? event[GAVE_UP_FIELD] : undefined;
  return typeof reason === 'string' ? reason : undefined;
}

function onBedrock(metered: Metered): Metered {
  const { usage, failure } = metered;
  return { ...(usage && { usage: { flavor: 'anthropic', doc: usage.doc } }), ...(failure !== undefined && { failure }) };
}

/** The stream whole, for a reader that asks for it so (metering reads streams as they pass): at most `limit` bytes. */
async function collect(body: AsyncIterable<Uint8Array>, limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > limit) throw new RangeError(`the stream is longer than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
