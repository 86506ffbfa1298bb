import { randomFillSync } from 'node:crypto';

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): reading a caller's `traceparent` and
 * `tracestate`, and writing ours. Ids are lower-case hex, as the header and OTLP/JSON carry them.
 */
export interface TraceParent {
  /** 32 hex digits, not all zero. */
  readonly traceId: string;
  /** 16 hex digits, not all zero: the caller's span, which becomes our span's parent. */
  readonly spanId: string;
  /** Bit 0 is `sampled`. */
  readonly flags: number;
}

const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
/**
 * Version, trace id, span id, flags; a later version may append fields after a `-`. Tested
 * without captures: each field is at a fixed place, and slicing it costs less than a match array.
 */
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(?:-.*)?$/;

/**
 * Undefined for anything the spec says to ignore: a wrong length, upper-case or non-hex digits,
 * version `ff`, all-zero ids, or a version-00 header with anything after the flags. A later
 * version may append fields after a `-`: they are ignored and the first four read, as the spec asks.
 */
export function parseTraceparent(header: string | string[] | undefined): TraceParent | undefined {
  // Two traceparent headers are as good as none (the spec: "MUST ignore" an ambiguous one).
  if (typeof header !== 'string') return undefined;
  const value = header.trim();
  if (!TRACEPARENT.test(value)) return undefined;
  const version = value.slice(0, 2);
  if (version === 'ff' || (version === '00' && value.length !== 55)) return undefined;
  const traceId = value.slice(3, 35);
  const spanId = value.slice(36, 52);
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, flags: parseInt(value.slice(53, 55), 16) };
}

/** `00-<trace id>-<span id>-<flags>`. */
export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`;
}

const TRACESTATE_MEMBER = /^(?:[a-z0-9][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * The caller's `tracestate`, kept on our spans when it is well formed (at most 32 members, each
 * `key=value` as the spec defines them, 512 characters in all); undefined otherwise. Several
 * headers are one list, joined with commas.
 */
export function parseTracestate(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const joined = Array.isArray(header) ? header.join(',') : header;
  if (joined.length === 0 || joined.length > 512) return undefined;
  const members = joined
    .split(',')
    .map((member) => member.trim())
    .filter((member) => member.length > 0);
  if (members.length === 0 || members.length > 32) return undefined;
  return members.every((member) => TRACESTATE_MEMBER.test(member)) ? members.join(',') : undefined;
}

/**
 * Random ids from a pooled buffer: one `randomFillSync` per 170 requests instead of two
 * `randomBytes` per request, and one hex conversion of the whole pool rather than one per id (an
 * id is then a slice of that string). Never all zeros (the spec's invalid id): such a draw is
 * taken again.
 */
const POOL = Buffer.alloc(4096);
let poolHex = '';
let poolAt = POOL.length * 2;

function randomHex(bytes: number): string {
  const digits = bytes * 2;
  for (;;) {
    if (poolAt + digits > poolHex.length) {
      randomFillSync(POOL);
      poolHex = POOL.toString('hex');
      poolAt = 0;
    }
    const hex = poolHex.slice(poolAt, poolAt + digits);
    poolAt += digits;
    if (hex !== ZERO_TRACE && hex !== ZERO_SPAN) return hex;
  }
}

export const newTraceId = (): string => randomHex(16);
export const newSpanId = (): string => randomHex(8);
