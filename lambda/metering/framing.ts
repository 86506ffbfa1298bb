import { EventStreamParser } from './eventstream';
import { JsonArraySplitter } from './json-array';
import { SseParser } from './sse';

/**
 * How a stream's messages are framed on the wire. The meter picks the framing from the
 * response's content type (or, for an operation known to stream, falls back to a streamed
 * JSON array), so shared code never asks which provider it is talking to.
 */
export type Framing = 'sse' | 'json-array' | 'aws-eventstream';

/** One framed message of a stream, handed to the wire format's usage reader. */
export type StreamMessage =
  | { readonly framing: 'sse'; readonly event?: string; readonly data: string }
  | { readonly framing: 'json-array'; readonly data: string }
  /** `data` is the payload as UTF-8 text (JSON, for Bedrock); `headers` its string headers (`:event-type`, `:message-type`, …). */
  | { readonly framing: 'aws-eventstream'; readonly headers: Readonly<Record<string, string>>; readonly data: string };

export interface Framer {
  push(chunk: Uint8Array): void;
  end(): void;
  /** A message (or a line of one) outgrew the framer's limit: it stopped there, and what it emitted is not the whole story. */
  readonly overflowed: boolean;
  /**
   * Every message seen so far is whole and none is begun: a message written now would be read on
   * its own, not glued to a half-sent one. (For a streamed array: between two elements, inside it.)
   */
  readonly between: boolean;
}

const BY_CONTENT_TYPE: Readonly<Record<string, Framing>> = {
  'text/event-stream': 'sse',
  'application/vnd.amazon.eventstream': 'aws-eventstream',
};

const FRAMERS: Readonly<Record<Framing, (onMessage: (message: StreamMessage) => void, maxBufferedBytes: number) => Framer>> = {
  sse: (onMessage, max) => new SseParser((event) => onMessage({ framing: 'sse', ...event }), max),
  'json-array': (onMessage, max) => new JsonArraySplitter((data) => onMessage({ framing: 'json-array', data }), max),
  'aws-eventstream': (onMessage, max) =>
    new EventStreamParser(({ headers, payload }) => {
      const data = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
      onMessage({ framing: 'aws-eventstream', headers, data });
    }, max),
};

/**
 * The framing of a response body, or undefined for a whole document. `streams` is the
 * operation's own word that it streams even under a JSON content type.
 */
export function framingFor(contentType: string | undefined, streams: boolean): Framing | undefined {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  const announced = mediaType === undefined ? undefined : BY_CONTENT_TYPE[mediaType];
  return announced ?? (streams ? 'json-array' : undefined);
}

/** `maxBufferedBytes`: the largest message (or SSE line) the framer will gather; past it, it sets `overflowed` and stops. */
export function createFramer(framing: Framing, onMessage: (message: StreamMessage) => void, maxBufferedBytes: number): Framer {
  return FRAMERS[framing](onMessage, maxBufferedBytes);
}
