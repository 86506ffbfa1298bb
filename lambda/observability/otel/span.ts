/**
 * The spans tollgate exports, as plain data: what the OTLP encoders read. Nothing here knows
 * about HTTP or the gateway.
 */

/** A floating-point attribute. A plain number is exported as an integer when it is one, so a field that can be fractional (a cost) says so. */
export class Double {
  constructor(readonly value: number) {}
}

/** Arrays are homogeneous, as OTLP asks: strings, or numbers (each exported as a plain number is). */
export type AttributeValue = string | boolean | number | Double | readonly string[] | readonly number[];

/** Attribute names to values; `undefined` values are skipped by the encoders. */
export type Attributes = Record<string, AttributeValue | undefined>;

/** OTLP's `Span.SpanKind`. */
export const SpanKind = { internal: 1, server: 2, client: 3 } as const;
export type SpanKind = (typeof SpanKind)[keyof typeof SpanKind];

/** OTLP's `Status.StatusCode`: unset, ok, error. */
export const StatusCode = { unset: 0, ok: 1, error: 2 } as const;
export type StatusCode = (typeof StatusCode)[keyof typeof StatusCode];

export interface SpanData {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  /** The caller's `tracestate`, passed on unchanged. */
  readonly traceState: string | undefined;
  readonly name: string;
  readonly kind: SpanKind;
  /** Milliseconds since the epoch, with a fraction (see {@link nowMs}). */
  readonly startMs: number;
  readonly endMs: number;
  readonly attributes: Attributes;
  readonly status: StatusCode;
  /** Only with an error status, as OTLP asks. */
  readonly statusMessage?: string | undefined;
}

/** Resource and scope: who produced a batch of spans. */
export interface SpanSource {
  readonly resource: Attributes;
  readonly scopeName: string;
  readonly scopeVersion: string;
}

const ORIGIN = performance.timeOrigin;

/** Wall-clock milliseconds with sub-millisecond precision, monotonic within the process. */
export function nowMs(): number {
  return ORIGIN + performance.now();
}

/** Epoch milliseconds as the integer nanoseconds OTLP carries. */
export function toNanos(ms: number): bigint {
  const whole = Math.floor(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6));
}
