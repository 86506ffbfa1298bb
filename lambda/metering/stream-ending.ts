import { encodeEventStreamMessage } from './eventstream';
import type { Framer, StreamMessage } from './framing';

/**
 * The bytes that end a broken stream with `message` (a wire format's `streamError`), written in
 * the stream's framing so that the client reads it as one more message: an SSE event, the last
 * element of a streamed JSON array (and the `]` that closes it), an event-stream frame.
 *
 * Undefined when the bytes already sent leave no place for it: a message half sent (the
 * client would glue the two together), or a framer that stopped reading. The caller then cuts
 * the connection instead, which the client also sees as a failure.
 *
 * `framer` has seen every byte sent so far, and `lastChunk` is the last of them (a streamed array
 * needs to know whether an element or a separator came last).
 *
 * @example
 * const tail = messageAfter({ framing: 'sse', event: 'error', data: '{"type":"error"}' }, parser, last);
 * if (tail) yield tail; else throw error;
 */
export function messageAfter(message: StreamMessage, framer: Framer, lastChunk: Uint8Array | undefined): Uint8Array | undefined {
  if (framer.overflowed || !framer.between) return undefined;
  switch (message.framing) {
    case 'sse':
      // `data` is one line: every format gives JSON.stringify output, which escapes line breaks.
      return Buffer.from(`${message.event === undefined ? '' : `event: ${message.event}\n`}data: ${message.data}\n\n`);
    case 'json-array': {
      const before = arrayPrefix(lastChunk);
      return before === undefined ? undefined : Buffer.from(`${before}${message.data}]`);
    }
    case 'aws-eventstream':
      return encodeEventStreamMessage(message.headers, Buffer.from(message.data));
  }
}

/** What must come before one more element of a streamed array, judged by the last byte that is not white space. */
function arrayPrefix(lastChunk: Uint8Array | undefined): string | undefined {
  if (lastChunk === undefined) return '[';
  for (let at = lastChunk.byteLength - 1; at >= 0; at--) {
    switch (lastChunk[at]) {
      case SPACE:
      case TAB:
      case LF:
      case CR:
        continue;
      case OPEN_BRACKET:
      case COMMA:
        return '';
      case CLOSE_BRACE:
        return ',';
      default:
        // `]`: the array is closed already; anything else: not a place an element can follow.
        return undefined;
    }
  }
  // A chunk of white space alone: what came before it is not known here.
  return undefined;
}

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const OPEN_BRACKET = 0x5b;
const COMMA = 0x2c;
const CLOSE_BRACE = 0x7d;
