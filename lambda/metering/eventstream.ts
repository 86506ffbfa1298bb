import { EventStreamCodec } from '@smithy/eventstream-codec';

/** One AWS event-stream message: its string headers (`:event-type`, `:message-type`, …) and its payload. */
export interface EventStreamMessage {
  readonly headers: Readonly<Record<string, string>>;
  readonly payload: Uint8Array;
}

// Prelude: total length (4), headers length (4), prelude CRC (4); then headers, payload, message CRC (4).
const PRELUDE_BYTES = 12;
const MIN_MESSAGE_BYTES = PRELUDE_BYTES + 4;
// The event-stream spec caps a message at 16 MiB; a larger length means the framing is lost.
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

const utf8Decoder = new TextDecoder();
const codec = new EventStreamCodec(
  (bytes) => utf8Decoder.decode(bytes),
  (text) => Buffer.from(text, 'utf8'),
);

/**
 * Incremental AWS event-stream parser: feed it chunks split anywhere (inside the prelude, a header
 * or a payload) and it emits each message once all its bytes have arrived. Decoding, including
 * both CRC checks, is `@smithy/eventstream-codec`'s. A message that fails to decode means the
 * framing can no longer be trusted, so parsing stops there: the bytes still reach the client,
 * only metering stops looking.
 *
 * A message longer than `maxBufferedBytes` (when that is below the spec's 16 MiB) is never
 * gathered: the parser stops and sets {@link overflowed}.
 *
 * @example
 * const parser = new EventStreamParser(({ headers, payload }) => seen.push(headers[':event-type']), 16 * 1024 * 1024);
 */
export class EventStreamParser {
  /** Bytes of messages not yet whole, kept as they came and joined once a message is complete. */
  private parts: Buffer[] = [];
  private held = 0;
  /** How many bytes must be held before the next message can be read: its prelude's length field, then its length. */
  private needed = 4;
  private readonly maxMessageBytes: number;
  private broken = false;
  private stopped = false;

  constructor(
    private readonly onMessage: (message: EventStreamMessage) => void,
    maxBufferedBytes: number,
  ) {
    this.maxMessageBytes = Math.min(MAX_MESSAGE_BYTES, maxBufferedBytes);
  }

  /** A message was longer than `maxBufferedBytes`: nothing after it was parsed. */
  get overflowed(): boolean {
    return this.stopped;
  }

  push(chunk: Uint8Array): void {
    if (this.broken || this.stopped) return;
    this.parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.held += chunk.byteLength;
    // Joining the held parts on every chunk would copy a large message once per chunk it spans.
    if (this.held < this.needed) return;
    const buffer = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.held);
    let offset = 0;
    this.needed = 4;
    while (buffer.byteLength - offset >= 4) {
      const length = buffer.readUInt32BE(offset);
      if (length < MIN_MESSAGE_BYTES || length > MAX_MESSAGE_BYTES) return this.break();
      if (length > this.maxMessageBytes) return this.overflow();
      if (buffer.byteLength - offset < length) {
        this.needed = length;
        break;
      }
      if (!this.emit(buffer.subarray(offset, offset + length))) return this.break();
      offset += length;
    }
    // Copy the tail: holding a view would pin the whole (possibly large) chunk it came from.
    const tail = buffer.subarray(offset);
    this.parts = tail.byteLength === 0 ? [] : [Buffer.from(tail)];
    this.held = tail.byteLength;
  }

  /** A partial message left at the end is a cut stream; the transport outcome already says so. */
  end(): void {
    this.parts = [];
    this.held = 0;
  }

  private emit(frame: Buffer): boolean {
    let decoded: ReturnType<EventStreamCodec['decode']>;
    try {
      decoded = codec.decode(frame);
    } catch {
      return false;
    }
    const headers: Record<string, string> = {};
    for (const [name, header] of Object.entries(decoded.headers)) {
      // Bedrock only sends string headers; the others (timestamps, UUIDs, …) carry nothing metering reads.
      if (header.type === 'string') headers[name] = header.value;
    }
    this.onMessage({ headers, payload: decoded.body });
    return true;
  }

  private break(): void {
    this.broken = true;
    this.end();
  }

  private overflow(): void {
    this.stopped = true;
    this.end();
  }
}
