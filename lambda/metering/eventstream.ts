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
 */
export class EventStreamParser {
  private pending: Buffer = Buffer.alloc(0);
  private broken = false;

  constructor(private readonly onMessage: (message: EventStreamMessage) => void) {}

  push(chunk: Uint8Array): void {
    if (this.broken) return;
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let buffer = this.pending.byteLength === 0 ? bytes : Buffer.concat([this.pending, bytes]);
    let offset = 0;
    while (buffer.byteLength - offset >= 4) {
      const length = buffer.readUInt32BE(offset);
      if (length < MIN_MESSAGE_BYTES || length > MAX_MESSAGE_BYTES) return this.break();
      if (buffer.byteLength - offset < length) break;
      if (!this.emit(buffer.subarray(offset, offset + length))) return this.break();
      offset += length;
    }
    // Copy the tail: holding a view would pin the whole (possibly large) chunk it came from.
    buffer = buffer.subarray(offset);
    this.pending = buffer.byteLength === 0 ? Buffer.alloc(0) : Buffer.from(buffer);
  }

  /** A partial message left at the end is a cut stream; the transport outcome already says so. */
  end(): void {
    this.pending = Buffer.alloc(0);
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
    this.pending = Buffer.alloc(0);
  }
}
