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

/** One event-stream message with string headers, framed (lengths and both CRCs) as the AWS SDKs decode it. */
export function encodeEventStreamMessage(headers: Readonly<Record<string, string>>, payload: Uint8Array): Uint8Array {
  const typed: Record<string, { type: 'string'; value: string }> = {};
  for (const [name, value] of Object.entries(headers)) typed[name] = { type: 'string', value };
  return codec.encode({ headers: typed, body: payload });
}

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
  /**
   * The message arriving across chunks: a buffer of its length (of 4 bytes until its length field
   * is in), its first `held` bytes filled. Copied into once per byte: never re-joined per chunk,
   * and a message sent a byte per chunk holds no more than its own size.
   */
  private partial = Buffer.alloc(0);
  private held = 0;
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

  /** A message failed to decode (a bad length or checksum): nothing after it was parsed. */
  get unreadable(): boolean {
    return this.broken;
  }

  /** Part of a message has arrived and the rest has not: at the stream's end, it was cut inside a message. */
  get midMessage(): boolean {
    return this.held > 0;
  }

  /** No message is partly received, and the framing still holds. */
  get between(): boolean {
    return !this.stopped && !this.broken && this.held === 0;
  }

  push(chunk: Uint8Array): void {
    if (this.broken || this.stopped) return;
    let bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.held > 0) {
      const used = this.fill(bytes);
      if (this.held > 0 || this.broken || this.stopped) return;
      bytes = bytes.subarray(used);
    }
    // Whole messages inside the chunk are decoded where they lie.
    let offset = 0;
    while (bytes.byteLength - offset >= 4) {
      const length = bytes.readUInt32BE(offset);
      if (!this.accepts(length)) return;
      if (bytes.byteLength - offset < length) break;
      if (!this.emit(bytes.subarray(offset, offset + length))) return this.break();
      offset += length;
    }
    if (offset < bytes.byteLength) {
      const tail = bytes.subarray(offset);
      // Copied: holding a view would pin the whole (possibly large) chunk it came from.
      this.partial = Buffer.allocUnsafe(tail.byteLength >= 4 ? tail.readUInt32BE(0) : 4);
      this.held = tail.copy(this.partial);
    }
  }

  /** A partial message left at the end is a cut stream; the transport outcome already says so. */
  end(): void {
    this.partial = Buffer.alloc(0);
    this.held = 0;
  }

  /** Copies from `bytes` into the partial message, emitting it once whole; returns how many bytes it took. */
  private fill(bytes: Buffer): number {
    let used = 0;
    if (this.held < 4) {
      used = bytes.copy(this.partial, this.held, 0, 4 - this.held);
      this.held += used;
      if (this.held < 4) return used;
      const length = this.partial.readUInt32BE(0);
      if (!this.accepts(length)) return used;
      const message = Buffer.allocUnsafe(length);
      this.partial.copy(message, 0, 0, 4);
      this.partial = message;
    }
    const copied = bytes.copy(this.partial, this.held, used);
    this.held += copied;
    used += copied;
    if (this.held < this.partial.byteLength) return used;
    const message = this.partial;
    this.end();
    if (!this.emit(message)) this.break();
    return used;
  }

  /** A length the framing allows and the limit admits; otherwise parsing stops here. */
  private accepts(length: number): boolean {
    if (length < MIN_MESSAGE_BYTES || length > MAX_MESSAGE_BYTES) this.break();
    else if (length > this.maxMessageBytes) this.overflow();
    else return true;
    return false;
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
