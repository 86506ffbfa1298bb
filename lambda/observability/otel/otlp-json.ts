import { Double, toNanos, type Attributes, type AttributeValue, type SpanData, type SpanSource } from './span';

/**
 * An `ExportTraceServiceRequest` in OTLP/JSON (`application/json`): proto3 JSON with the OTLP
 * exceptions — trace and span ids as hex, enums as integers, 64-bit integers as strings.
 */
export function encodeJson(source: SpanSource, spans: readonly SpanData[]): string {
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: keyValues(source.resource) },
        scopeSpans: [{ scope: { name: source.scopeName, version: source.scopeVersion }, spans: spans.map(jsonSpan) }],
      },
    ],
  });
}

function jsonSpan(span: SpanData): Record<string, unknown> {
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    ...(span.parentSpanId !== undefined && { parentSpanId: span.parentSpanId }),
    ...(span.traceState !== undefined && { traceState: span.traceState }),
    name: span.name,
    kind: span.kind,
    startTimeUnixNano: toNanos(span.startMs).toString(),
    endTimeUnixNano: toNanos(span.endMs).toString(),
    attributes: keyValues(span.attributes),
    status: span.statusMessage === undefined ? { code: span.status } : { code: span.status, message: span.statusMessage },
  };
}

function keyValues(attributes: Attributes): { key: string; value: Record<string, unknown> }[] {
  const out: { key: string; value: Record<string, unknown> }[] = [];
  for (const key in attributes) {
    const value = attributes[key];
    if (value !== undefined) out.push({ key, value: anyValue(value) });
  }
  return out;
}

function anyValue(value: AttributeValue): Record<string, unknown> {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number') return Number.isSafeInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  if (value instanceof Double) return { doubleValue: value.value };
  const values: Record<string, unknown>[] = [];
  for (const item of value) values.push(anyValue(item));
  return { arrayValue: { values } };
}
