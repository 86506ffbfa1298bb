import { Double, type Attributes, type AttributeValue, type SpanData, type SpanSource } from './span';

/**
 * An `ExportTraceServiceRequest` in OTLP/protobuf (`application/x-protobuf`), written directly:
 * the few messages and fields tollgate sends, numbered as in opentelemetry-proto
 * (`collector/trace/v1/trace_service.proto`, `trace/v1/trace.proto`, `common/v1/common.proto`).
 * Field numbers are the wire contract; the tests decode the output with an independent decoder.
 */
export function encodeProto(source: SpanSource, spans: readonly SpanData[]): Uint8Array {
  const w = new ProtoWriter(256 + spans.length * Math.ceil(bytesPerSpan * GUESS_HEADROOM));
  w.begin(1); // ExportTraceServiceRequest.resource_spans
  w.begin(1); // ResourceSpans.resource
  keyValues(w, 1, source.resource); // Resource.attributes
  w.end();
  w.begin(2); // ResourceSpans.scope_spans
  w.begin(1); // ScopeSpans.scope
  w.string(1, source.scopeName);
  w.string(2, source.scopeVersion);
  w.end();
  for (const span of spans) {
    w.begin(2); // ScopeSpans.spans
    writeSpan(w, span);
    w.end();
  }
  w.end();
  w.end();
  const bytes = w.finish();
  learn(bytes.byteLength, spans.length);
  return bytes;
}

/**
 * The buffer a batch is written into is sized from the batch: its span count times what spans
 * took lately, with a little room, so a batch neither holds (while it is sent) far more memory
 * than its bytes nor grows, copying, several times over. A gateway's spans are alike (~900 bytes
 * for a request's two, more with bodies captured): the guess is close after the first batch.
 */
let bytesPerSpan = 1024;
const GUESS_HEADROOM = 1.125;
/** How many spans the running average spans: one batch of the default size. */
const LEARNING_SPANS = 512;

/** A span-weighted moving average: one odd span (a large body) moves the guess by its share of {@link LEARNING_SPANS}. */
function learn(bytes: number, spans: number): void {
  if (spans === 0) return;
  const weight = Math.min(1, spans / LEARNING_SPANS);
  bytesPerSpan += (bytes / spans - bytesPerSpan) * weight;
}

function writeSpan(w: ProtoWriter, span: SpanData): void {
  w.hexBytes(1, span.traceId);
  w.hexBytes(2, span.spanId);
  if (span.traceState !== undefined) w.string(3, span.traceState);
  if (span.parentSpanId !== undefined) w.hexBytes(4, span.parentSpanId);
  w.string(5, span.name);
  w.tag(6, WIRE_VARINT);
  w.varint(span.kind);
  w.tag(7, WIRE_FIXED64);
  w.nanos(span.startMs);
  w.tag(8, WIRE_FIXED64);
  w.nanos(span.endMs);
  keyValues(w, 9, span.attributes);
  w.begin(15); // Span.status
  if (span.statusMessage !== undefined) w.string(2, span.statusMessage);
  if (span.status !== 0) {
    w.tag(3, WIRE_VARINT);
    w.varint(span.status);
  }
  w.end();
}

function keyValues(w: ProtoWriter, field: number, attributes: Attributes): void {
  for (const key in attributes) {
    const value = attributes[key];
    if (value === undefined) continue;
    if (typeof value === 'string' ? w.shortStringPair(field, key, value) : typeof value === 'number' && w.smallIntPair(field, key, value)) continue;
    w.begin(field); // KeyValue
    w.key(key);
    w.begin(2); // KeyValue.value
    anyValue(w, value);
    w.end();
    w.end();
  }
}

/** AnyValue: string_value 1, bool_value 2, int_value 3, double_value 4, array_value 5. */
function anyValue(w: ProtoWriter, value: AttributeValue): void {
  if (typeof value === 'string') {
    w.tag(1, WIRE_LEN);
    w.stringBody(value);
  } else if (typeof value === 'boolean') {
    w.tag(2, WIRE_VARINT);
    w.varint(value ? 1 : 0);
  } else if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) {
      w.tag(3, WIRE_VARINT);
      w.int64(value);
    } else {
      w.tag(4, WIRE_FIXED64);
      w.double(value);
    }
  } else if (value instanceof Double) {
    w.tag(4, WIRE_FIXED64);
    w.double(value.value);
  } else {
    w.begin(5); // ArrayValue
    for (const item of value) {
      w.begin(1); // ArrayValue.values
      anyValue(w, item);
      w.end();
    }
    w.end();
  }
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const TWO_32 = 0x1_0000_0000;

/**
 * An append-only protobuf writer. A nested message is written in place and its length put in
 * front of it when it ends, so no message is encoded twice and nothing is allocated per field.
 */
class ProtoWriter {
  private buf: Buffer;
  private view: DataView;
  private pos = 0;
  private readonly starts: number[] = [];

  constructor(initial: number) {
    this.buf = Buffer.allocUnsafe(initial);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  /** A non-negative integer up to 2^53. */
  varint(value: number): void {
    this.reserve(10);
    while (value > 0x7f) {
      this.buf[this.pos++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.buf[this.pos++] = value;
  }

  /** int64: negative values take ten bytes, as two's complement. */
  int64(value: number): void {
    if (value >= 0) return this.varint(value);
    this.reserve(10);
    let rest = BigInt.asUintN(64, BigInt(value));
    while (rest > 0x7fn) {
      this.buf[this.pos++] = Number(rest & 0x7fn) | 0x80;
      rest >>= 7n;
    }
    this.buf[this.pos++] = Number(rest);
  }

  /**
   * Epoch milliseconds as fixed64 nanoseconds: the figure {@link toNanos} gives, written as two
   * 32-bit halves from exact integer arithmetic (every product stays below 2^53) instead of three
   * BigInts per timestamp.
   */
  nanos(ms: number): void {
    this.reserve(8);
    const whole = Math.floor(ms);
    const fraction = Math.round((ms - whole) * 1e6);
    const high = Math.floor(whole / TWO_32);
    const lowNanos = (whole - high * TWO_32) * 1e6 + fraction;
    const carry = Math.floor(lowNanos / TWO_32);
    // setUint32 takes each half modulo 2^32, as the 64-bit two's complement would.
    this.view.setUint32(this.pos, lowNanos - carry * TWO_32, true);
    this.view.setUint32(this.pos + 4, (high * 1e6 + carry) % TWO_32, true);
    this.pos += 8;
  }

  double(value: number): void {
    this.reserve(8);
    this.view.setFloat64(this.pos, value, true);
    this.pos += 8;
  }

  string(field: number, value: string): void {
    this.tag(field, WIRE_LEN);
    this.stringBody(value);
  }

  /**
   * Length and UTF-8 bytes, after a tag already written. Attribute names and most values are
   * short ASCII: copied a character at a time, which is several times cheaper than a
   * `Buffer.write` call for strings this short; anything else goes through `Buffer.write`.
   */
  stringBody(value: string): void {
    const length = value.length;
    if (length < 128) {
      this.reserve(length + 1);
      const buf = this.buf;
      const start = this.pos + 1;
      let i = 0;
      for (; i < length; i++) {
        const code = value.charCodeAt(i);
        if (code >= 0x80) break;
        buf[start + i] = code;
      }
      if (i === length) {
        buf[this.pos] = length;
        this.pos = start + length;
        return;
      }
    }
    const bytes = Buffer.byteLength(value, 'utf8');
    this.varint(bytes);
    this.reserve(bytes);
    this.pos += this.buf.write(value, this.pos, bytes, 'utf8');
  }

  /**
   * A whole `KeyValue` with a string value, when it is short ASCII (most are: a method, a route, a
   * model, an account): every length is known before a byte is written, so nothing is opened and
   * closed. False, with nothing written, for any other pair.
   */
  shortStringPair(field: number, key: string, value: string): boolean {
    const name = keyBytes(key);
    const length = value.length;
    // KeyValue: the key, then `value` (tag, length) holding AnyValue's `string_value` (tag, length, bytes).
    const pair = name.length + 4 + length;
    if (pair > 0x7f || field > 15) return false;
    this.reserve(pair + 2);
    const buf = this.buf;
    const start = this.pos;
    const at = start + 2 + name.length + 4;
    for (let i = 0; i < length; i++) {
      const code = value.charCodeAt(i);
      if (code >= 0x80) return false;
      buf[at + i] = code;
    }
    buf[start] = (field << 3) | WIRE_LEN;
    buf[start + 1] = pair;
    buf.set(name, start + 2);
    const head = start + 2 + name.length;
    buf[head] = (2 << 3) | WIRE_LEN;
    buf[head + 1] = length + 2;
    buf[head + 2] = (1 << 3) | WIRE_LEN;
    buf[head + 3] = length;
    this.pos = at + length;
    return true;
  }

  /** The same for a non-negative integer below 2^31 (a status, a token count, most nano-dollar figures); false for any other number. */
  smallIntPair(field: number, key: string, value: number): boolean {
    if (!(value >= 0 && value <= 0x7fffffff && Number.isInteger(value))) return false;
    const name = keyBytes(key);
    const size = varintSize(value);
    // KeyValue: the key, then `value` (tag, length) holding AnyValue's `int_value` (tag, varint).
    const pair = name.length + 3 + size;
    if (pair > 0x7f || field > 15) return false;
    this.reserve(pair + 2);
    const buf = this.buf;
    let at = this.pos;
    buf[at++] = (field << 3) | WIRE_LEN;
    buf[at++] = pair;
    buf.set(name, at);
    at += name.length;
    buf[at++] = (2 << 3) | WIRE_LEN;
    buf[at++] = size + 1;
    buf[at++] = (3 << 3) | WIRE_VARINT;
    let rest = value;
    while (rest > 0x7f) {
      buf[at++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    buf[at++] = rest;
    this.pos = at;
    return true;
  }

  /**
   * `KeyValue.key`: its tag, length and bytes, encoded once per name and copied after. Attribute
   * names are the code's constants: a few dozen, written on every span.
   */
  key(name: string): void {
    const encoded = keyBytes(name);
    this.reserve(encoded.length);
    this.buf.set(encoded, this.pos);
    this.pos += encoded.length;
  }

  hexBytes(field: number, hex: string): void {
    this.tag(field, WIRE_LEN);
    const length = hex.length >> 1;
    this.varint(length);
    this.reserve(length);
    // Ids are 16 or 32 hex digits: a table lookup per digit costs less than a `Buffer.write` call.
    const buf = this.buf;
    const at = this.pos;
    for (let i = 0; i < length; i++) {
      const high = hexValue(hex.charCodeAt(2 * i));
      const low = hexValue(hex.charCodeAt(2 * i + 1));
      // Not hex: `Buffer.write` decides what is written, as it always has.
      if ((high | low) < 0) {
        this.pos += buf.write(hex, at, length, 'hex');
        return;
      }
      buf[at + i] = (high << 4) | low;
    }
    this.pos = at + length;
  }

  /**
   * Opens a length-delimited field; its length is written by {@link end}, in the one byte kept
   * for it here — enough for nearly every message (a key-value pair, a value, a status). A longer
   * message moves its bytes along to make room.
   */
  begin(field: number): void {
    this.tag(field, WIRE_LEN);
    this.reserve(1);
    this.starts.push(this.pos);
    this.pos++;
  }

  end(): void {
    const start = this.starts.pop()!;
    const length = this.pos - start - 1;
    if (length < 0x80) {
      this.buf[start] = length;
      return;
    }
    const size = varintSize(length);
    this.reserve(size - 1);
    this.buf.copyWithin(start + size, start + 1, this.pos);
    let at = start;
    let value = length;
    while (value > 0x7f) {
      this.buf[at++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    this.buf[at] = value;
    this.pos += size - 1;
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  private reserve(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }
}

/** Encoded attribute names; bounded, though the names a gateway writes are a few dozen. */
const KEYS = new Map<string, Uint8Array>();
const MAX_KEYS = 1024;

function keyBytes(name: string): Uint8Array {
  let encoded = KEYS.get(name);
  if (encoded === undefined) {
    const bytes = Buffer.from(name, 'utf8');
    encoded = Buffer.concat([Buffer.from([(1 << 3) | WIRE_LEN]), varintBytes(bytes.length), bytes]);
    if (KEYS.size < MAX_KEYS) KEYS.set(name, encoded);
  }
  return encoded;
}

/** Each ASCII hex digit's value, -1 for any other character. */
const HEX_VALUES = new Int8Array(128).fill(-1);
for (let digit = 0; digit < 16; digit++) {
  HEX_VALUES[digit.toString(16).charCodeAt(0)] = digit;
  HEX_VALUES[digit.toString(16).toUpperCase().charCodeAt(0)] = digit;
}

function hexValue(code: number): number {
  return code < 128 ? HEX_VALUES[code]! : -1;
}

function varintBytes(value: number): Buffer {
  const bytes: number[] = [];
  while (value > 0x7f) {
    bytes.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  bytes.push(value);
  return Buffer.from(bytes);
}

function varintSize(value: number): number {
  let size = 1;
  while (value > 0x7f) {
    value >>>= 7;
    size++;
  }
  return size;
}
