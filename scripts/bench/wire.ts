import type { EventStreamCodec } from '@smithy/eventstream-codec';

/**
 * The provider APIs the bench speaks: what a client sends, what the fake upstream answers, and
 * where each target (direct, bare proxy, gateway) receives it. Adding a provider is one entry here.
 */
export type ApiId = 'openai-chat' | 'anthropic-messages' | 'bedrock-converse';

export interface ApiShape {
  readonly id: ApiId;
  /** The gateway's provider id; the scenario is skipped when the gateway has no such provider. */
  readonly provider: string;
  /** Path on the fake upstream (and for direct calls), for a document or a stream request. */
  upstreamPath(stream: boolean): string;
  /** Path on the gateway and the bare proxy. */
  gatewayPath(stream: boolean): string;
  /** Whether a request the fake upstream received asks for a stream. */
  isStreamRequest(path: string, body: Buffer): boolean;
  /** Request headers, with the key where this API's SDK puts it. */
  headers(key: string): Record<string, string>;
  requestBody(stream: boolean): Buffer;
  /** The non-streaming response body. */
  readonly responseBody: Buffer;
  readonly streamContentType: string;
  /** `events` stream events, one buffer each; the last ones carry the usage, as the real API's do. */
  streamEvents(events: number): Buffer[];
  /** A counter of the events completed by each chunk a client reads, events split across chunks included. */
  eventCounter(): (chunk: Buffer) => number;
}

const NEWLINE = 0x0a;

/** SSE events end with a blank line (`\n\n`), which a chunk boundary may split. */
const sseEventCounter = () => {
  let endedWithNewline = false;
  return (chunk: Buffer): number => {
    let count = 0;
    let previous = endedWithNewline;
    for (const byte of chunk) {
      const newline = byte === NEWLINE;
      if (newline && previous) {
        count++;
        previous = false;
      } else previous = newline;
    }
    endedWithNewline = previous;
    return count;
  };
};

// Prelude (total length, headers length, prelude CRC) plus the message CRC: the smallest frame.
const MIN_FRAME_BYTES = 16;
const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/**
 * AWS event-stream frames start with their total length: count the frames that end in each
 * chunk. A length no frame can have means the framing is lost: nothing more is counted, so the
 * stream comes up short and is reported as failed rather than looping on a zero length.
 */
const eventStreamCounter = () => {
  let pending: Buffer = Buffer.alloc(0);
  let lost = false;
  return (chunk: Buffer): number => {
    if (lost) return 0;
    let buffer: Buffer = pending.byteLength === 0 ? chunk : Buffer.concat([pending, chunk]);
    let count = 0;
    while (buffer.byteLength >= 4) {
      const length = buffer.readUInt32BE(0);
      if (length < MIN_FRAME_BYTES || length > MAX_FRAME_BYTES) {
        lost = true;
        return count;
      }
      if (buffer.byteLength < length) break;
      buffer = buffer.subarray(length);
      count++;
    }
    pending = buffer;
    return count;
  };
};

const STREAM_FLAG = Buffer.from('"stream":true');

const MESSAGES = [
  { role: 'system', content: 'You are a concise assistant for an engineering team. Answer in one short paragraph.' },
  { role: 'user', content: 'Summarise the trade-offs between connection pooling and per-request connections for an HTTP proxy.' },
  { role: 'assistant', content: 'Pooling avoids handshakes and slow start; per-request connections isolate failures.' },
  { role: 'user', content: 'And for streaming responses that last several seconds? Keep it under fifty words, please.' },
];

const sse = (data: unknown, event?: string): Buffer =>
  Buffer.from(`${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);

const WORDS = ['Pooling', ' keeps', ' streams', ' cheap', ':', ' one', ' handshake', ',', ' many', ' tokens', '.'];
const word = (i: number): string => WORDS[i % WORDS.length] as string;

const openaiChat: ApiShape = {
  id: 'openai-chat',
  provider: 'openai',
  upstreamPath: () => '/v1/chat/completions',
  gatewayPath: () => '/proxy/openai/chat/completions',
  isStreamRequest: (_path, body) => body.includes(STREAM_FLAG),
  streamContentType: 'text/event-stream; charset=utf-8',
  eventCounter: sseEventCounter,
  headers: (key) => ({ 'content-type': 'application/json', authorization: `Bearer ${key}` }),
  // Like the official SDK's default, a stream request does not ask for usage: the gateway has to add it.
  requestBody: (stream) => Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: MESSAGES, max_tokens: 64, ...(stream && { stream: true }) })),
  responseBody: Buffer.from(
    JSON.stringify({
      id: 'chatcmpl-bench0001',
      object: 'chat.completion',
      created: 1741569952,
      model: 'gpt-4o-mini-2024-07-18',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Pooling keeps streams cheap: one handshake, many tokens.', refusal: null, annotations: [] },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: {
        prompt_tokens: 92,
        completion_tokens: 12,
        total_tokens: 104,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      },
      service_tier: 'default',
      system_fingerprint: 'fp_bench',
    }),
  ),
  streamEvents(events) {
    const base = { id: 'chatcmpl-bench0001', object: 'chat.completion.chunk', created: 1741570283, model: 'gpt-4o-mini-2024-07-18', system_fingerprint: 'fp_bench' };
    const chunk = (delta: object, finish: string | null) => sse({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], usage: null });
    const out = [chunk({ role: 'assistant', content: '', refusal: null }, null)];
    for (let i = 0; i < Math.max(0, events - 4); i++) out.push(chunk({ content: word(i) }, null));
    out.push(chunk({}, 'stop'));
    out.push(sse({ ...base, choices: [], usage: { prompt_tokens: 92, completion_tokens: events, total_tokens: 92 + events, prompt_tokens_details: { cached_tokens: 0 } } }));
    out.push(sse('[DONE]'));
    return out;
  },
};

const anthropicMessages: ApiShape = {
  id: 'anthropic-messages',
  provider: 'anthropic',
  upstreamPath: () => '/v1/messages',
  gatewayPath: () => '/proxy/anthropic/v1/messages',
  isStreamRequest: (_path, body) => body.includes(STREAM_FLAG),
  streamContentType: 'text/event-stream; charset=utf-8',
  eventCounter: sseEventCounter,
  headers: (key) => ({ 'content-type': 'application/json', 'x-api-key': key, 'anthropic-version': '2023-06-01' }),
  requestBody: (stream) =>
    Buffer.from(
      JSON.stringify({
        model: 'claude-haiku-4-5',
        system: (MESSAGES[0] as { content: string }).content,
        messages: MESSAGES.slice(1),
        max_tokens: 64,
        ...(stream && { stream: true }),
      }),
    ),
  responseBody: Buffer.from(
    JSON.stringify({
      id: 'msg_bench0001',
      type: 'message',
      role: 'assistant',
      model: 'claude-haiku-4-5-20251001',
      content: [{ type: 'text', text: 'Pooling keeps streams cheap: one handshake, many tokens.' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 92, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 12, service_tier: 'standard' },
    }),
  ),
  streamEvents(events) {
    const message = { id: 'msg_bench0001', type: 'message', role: 'assistant', model: 'claude-haiku-4-5-20251001', content: [], stop_reason: null, stop_sequence: null };
    const out = [
      sse({ type: 'message_start', message: { ...message, usage: { input_tokens: 92, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 } } }, 'message_start'),
      sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'),
    ];
    for (let i = 0; i < Math.max(0, events - 5); i++) {
      out.push(sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: word(i) } }, 'content_block_delta'));
    }
    out.push(sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop'));
    out.push(sse({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: events } }, 'message_delta'));
    out.push(sse({ type: 'message_stop' }, 'message_stop'));
    return out;
  },
};

let codec: EventStreamCodec | undefined;

/**
 * Loaded by the one role that frames streams, the fake upstream: the bare proxy and the gateway
 * children read this file too, and their memory must not include the codec.
 */
function frames(): EventStreamCodec {
  if (codec) return codec;
  const { EventStreamCodec: Codec } = require('@smithy/eventstream-codec') as typeof import('@smithy/eventstream-codec');
  return (codec = new Codec(
    (bytes) => Buffer.from(bytes).toString('utf8'),
    (text) => Buffer.from(text, 'utf8'),
  ));
}

const frame = (eventType: string, payload: object): Buffer =>
  Buffer.from(
    frames().encode({
      headers: {
        ':event-type': { type: 'string', value: eventType },
        ':content-type': { type: 'string', value: 'application/json' },
        ':message-type': { type: 'string', value: 'event' },
      },
      body: Buffer.from(JSON.stringify(payload), 'utf8'),
    }),
  );

/** As the AWS SDK sends it: the model id's `:` percent-encoded in the path. */
const BEDROCK_MODEL = encodeURIComponent('anthropic.claude-3-haiku-20240307-v1:0');

/**
 * Bedrock Converse, signed with SigV4 by the gateway (AWS access keys in its environment, as a
 * gateway on a role would have): streams are another path, framed as AWS event-stream.
 */
const bedrockConverse: ApiShape = {
  id: 'bedrock-converse',
  provider: 'bedrock',
  upstreamPath: (stream) => `/model/${BEDROCK_MODEL}/${stream ? 'converse-stream' : 'converse'}`,
  gatewayPath: (stream) => `/proxy/bedrock/model/${BEDROCK_MODEL}/${stream ? 'converse-stream' : 'converse'}`,
  isStreamRequest: (path) => path.endsWith('/converse-stream'),
  // The SDK's bearer-token scheme carries the gateway key.
  headers: (key) => ({ 'content-type': 'application/json', authorization: `Bearer ${key}` }),
  requestBody: () =>
    Buffer.from(
      JSON.stringify({
        system: [{ text: (MESSAGES[0] as { content: string }).content }],
        messages: MESSAGES.slice(1).map(({ role, content }) => ({ role, content: [{ text: content }] })),
        inferenceConfig: { maxTokens: 64 },
      }),
    ),
  responseBody: Buffer.from(
    JSON.stringify({
      output: { message: { role: 'assistant', content: [{ text: 'Pooling keeps streams cheap: one handshake, many tokens.' }] } },
      stopReason: 'end_turn',
      usage: { inputTokens: 92, outputTokens: 12, totalTokens: 104 },
      metrics: { latencyMs: 412 },
    }),
  ),
  streamContentType: 'application/vnd.amazon.eventstream',
  eventCounter: eventStreamCounter,
  streamEvents(events) {
    const out = [frame('messageStart', { p: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN', role: 'assistant' })];
    for (let i = 0; i < Math.max(0, events - 4); i++) out.push(frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: word(i) }, p: 'abcdefghijklm' }));
    out.push(frame('contentBlockStop', { contentBlockIndex: 0, p: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS' }));
    out.push(frame('messageStop', { p: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR', stopReason: 'end_turn' }));
    out.push(frame('metadata', { metrics: { latencyMs: 389 }, p: 'abcdefghijklmnopqrstuv', usage: { inputTokens: 92, outputTokens: events, totalTokens: 92 + events } }));
    return out;
  },
};

export const APIS: Readonly<Record<ApiId, ApiShape>> = { 'openai-chat': openaiChat, 'anthropic-messages': anthropicMessages, 'bedrock-converse': bedrockConverse };

/** The API a path on the fake upstream belongs to: exact path first; then by the path's tail, in case a provider's base URL carries a prefix of its own. */
export function apiForUpstreamPath(path: string): ApiShape | undefined {
  const apis = Object.values(APIS);
  const paths = (api: ApiShape) => [api.upstreamPath(false), api.upstreamPath(true)];
  return (
    apis.find((api) => paths(api).includes(path)) ??
    apis.find((api) => paths(api).some((known) => path.endsWith(known.replace(/^\/v1/, ''))))
  );
}

/** Gateway path → upstream path, for the bare proxy. */
export function barePathTable(): Map<string, string> {
  return new Map(Object.values(APIS).flatMap((api) => [false, true].map((stream) => [api.gatewayPath(stream), api.upstreamPath(stream)] as const)));
}
