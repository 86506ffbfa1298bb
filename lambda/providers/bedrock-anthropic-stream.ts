import { pipeline, Readable } from 'node:stream';
import { isObject, parseJson } from '../formats/shared';
import { decompressor } from '../metering/decode';
import { EventStreamParser, type EventStreamMessage } from '../metering/eventstream';

/**
 * Why the gateway stopped turning Bedrock's stream into SSE before its end: a message larger than
 * `metering.maxBufferedBytes`, framing that no longer decodes (a bad length or checksum), a stream
 * that ended inside a message, a chunk whose bytes are not an event, or a compression it cannot undo.
 */
export type UnreadableReason = 'buffered-limit' | 'unreadable-framing' | 'cut-inside-message' | 'unreadable-chunk' | 'unknown-encoding';

/**
 * The field that marks the `error` event the gateway itself sends when it gives up on the stream,
 * so that metering can tell it from the model's own failures: the model's usage is then unknown.
 */
export const GAVE_UP_FIELD = 'tollgate_unreadable';

const encoder = new TextEncoder();

/**
 * Bedrock's InvokeModelWithResponseStream, unwrapped into the SSE stream Anthropic's Messages API
 * sends: each `chunk` event's base64 `bytes` are one Anthropic event, sent on as
 * `event: <type>\ndata: <json>\n\n` with its JSON as the model wrote it (re-serialised only if it
 * spans lines, which SSE data may not). An exception or error frame becomes an Anthropic `error`
 * event and ends the stream, as Anthropic's own API ends a failed one.
 *
 * Memory is bounded as metering's is: one event-stream message at most `maxBufferedBytes`, and the
 * events one upstream chunk held. Past that, the stream ends with an `error` event marked with
 * {@link GAVE_UP_FIELD}. An upstream that breaks off makes the iteration throw, as it would have.
 */
export async function* anthropicSseFromEventStream(
  body: AsyncIterable<Uint8Array>,
  contentEncoding: string | undefined,
  maxBufferedBytes: number,
): AsyncGenerator<Uint8Array, void, undefined> {
  const source = decoded(body, contentEncoding);
  if (source === undefined) {
    yield gaveUp('unknown-encoding');
    return;
  }
  let out = '';
  let ended = false;
  const parser = new EventStreamParser((message) => {
    if (ended) return;
    const event = sseEvent(message);
    if (event === undefined) return;
    out += event.text;
    ended = event.ends;
  }, maxBufferedBytes);
  for await (const chunk of source) {
    parser.push(chunk);
    if (!ended && (parser.overflowed || parser.unreadable)) {
      out += gaveUpText(parser.overflowed ? 'buffered-limit' : 'unreadable-framing');
      ended = true;
    }
    if (out.length > 0) {
      yield encoder.encode(out);
      out = '';
    }
    // Returning closes the upstream: after an exception frame Bedrock sends nothing more.
    if (ended) return;
  }
  if (parser.midMessage) yield gaveUp('cut-inside-message');
}

interface SseText {
  readonly text: string;
  /** An error event: nothing may follow it. */
  readonly ends: boolean;
}

function sseEvent(message: EventStreamMessage): SseText | undefined {
  const { headers } = message;
  switch (headers[':message-type']) {
    case 'event':
      return headers[':event-type'] === 'chunk' ? chunkEvent(message.payload) : undefined;
    case 'exception': {
      const exception = headers[':exception-type'] ?? 'exception';
      return errorEvent(anthropicErrorType(exception), `${exception}: ${payloadMessage(message.payload) ?? 'the model stream failed'}`);
    }
    case 'error':
      return errorEvent('api_error', `${headers[':error-code'] ?? 'error'}: ${headers[':error-message'] ?? 'the model stream failed'}`);
    default:
      // Message types the protocol may add later carry nothing a Messages client reads.
      return undefined;
  }
}

/** `{"bytes": "<base64 of one Anthropic event>"}` (Bedrock pads it with a `p` field of noise). */
function chunkEvent(payload: Uint8Array): SseText | undefined {
  const wrapper = parseJson(utf8(payload));
  const encoded = isObject(wrapper) ? wrapper['bytes'] : undefined;
  if (typeof encoded !== 'string') return { text: gaveUpText('unreadable-chunk'), ends: true };
  const json = Buffer.from(encoded, 'base64').toString('utf8');
  const event = parseJson(json);
  if (!isObject(event)) return { text: gaveUpText('unreadable-chunk'), ends: true };
  const type = event['type'];
  // An event with no name has no SSE event to travel as (Anthropic's SDK for Bedrock drops it too).
  if (typeof type !== 'string' || type === '' || LINE_BREAK.test(type)) return undefined;
  const data = LINE_BREAK.test(json) ? JSON.stringify(event) : json;
  return { text: `event: ${type}\ndata: ${data}\n\n`, ends: type === 'error' };
}

const LINE_BREAK = /[\r\n]/;

function errorEvent(type: string, message: string): SseText {
  return { text: `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type, message } })}\n\n`, ends: true };
}

function gaveUp(reason: UnreadableReason): Uint8Array {
  return encoder.encode(gaveUpText(reason));
}

function gaveUpText(reason: UnreadableReason): string {
  const message = `The gateway could not read the rest of Bedrock's response stream (${reason}).`;
  return `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'api_error', message }, [GAVE_UP_FIELD]: reason })}\n\n`;
}

/**
 * Bedrock's stream exceptions as the Anthropic error types a client already handles (the
 * exception's own name leads the message). `modelStreamErrorException`, `internalServerException`
 * and anything new are `api_error`.
 */
function anthropicErrorType(exception: string): string {
  switch (exception) {
    case 'throttlingException':
      return 'rate_limit_error';
    case 'serviceUnavailableException':
      return 'overloaded_error';
    case 'modelTimeoutException':
      return 'timeout_error';
    case 'validationException':
      return 'invalid_request_error';
    default:
      return 'api_error';
  }
}

function payloadMessage(payload: Uint8Array): string | undefined {
  const parsed = parseJson(utf8(payload));
  return isObject(parsed) && typeof parsed['message'] === 'string' ? parsed['message'] : undefined;
}

/**
 * The body's bytes as sent before any content coding (Bedrock does not compress its streams, but
 * a transcoder must not read compressed bytes as frames); undefined for a coding it cannot undo.
 * Inflated as the client reads: the output is streamed on, never held.
 */
function decoded(body: AsyncIterable<Uint8Array>, contentEncoding: string | undefined): AsyncIterable<Uint8Array> | undefined {
  if (contentEncoding === undefined || /^\s*(?:identity)?\s*$/i.test(contentEncoding)) return body;
  const inflate = decompressor(contentEncoding);
  // An error on either side destroys both, and the iteration throws it.
  return inflate && pipeline(Readable.from(body), inflate, () => {});
}

function utf8(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}
