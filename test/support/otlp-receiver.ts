import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';

/**
 * An OTLP/HTTP trace receiver on loopback, for tests: it takes `POST /v1/traces` in protobuf or
 * JSON, decodes it, and keeps every span with its resource and the request that carried it.
 * Protobuf is decoded by protobufjs from the opentelemetry-proto definitions below — not by
 * anything in tollgate — so the encoder is checked against an independent reader.
 */

/** The subset of opentelemetry-proto (v1) the receiver reads; field numbers as published. */
const OTLP_PROTO = `
syntax = "proto3";
package otlp;
message AnyValue {
  oneof value {
    string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
    ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; fixed32 flags = 16;
  string name = 5; int32 kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9; uint32 dropped_attributes_count = 10; Status status = 15;
}
message Status { string message = 2; int32 code = 3; }
`;

const RequestType = protobuf.parse(OTLP_PROTO).root.lookupType('otlp.ExportTraceServiceRequest');

export type ReceivedValue = string | number | boolean | ReceivedValue[];

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly traceState: string | undefined;
  readonly name: string;
  readonly kind: number;
  readonly startNanos: bigint;
  readonly endNanos: bigint;
  readonly attributes: Readonly<Record<string, ReceivedValue>>;
  /** Which attributes arrived as `double_value` (the rest of the numbers are `int_value`). */
  readonly doubles: ReadonlySet<string>;
  readonly status: { readonly code: number; readonly message: string | undefined };
  readonly resource: Readonly<Record<string, ReceivedValue>>;
  readonly scope: { readonly name: string; readonly version: string };
}

export interface ReceivedRequest {
  readonly headers: IncomingHttpHeaders;
  readonly contentType: string | undefined;
  /** The body as it arrived, for the secret scan. */
  readonly raw: Buffer;
  readonly spans: readonly ReceivedSpan[];
}

type Answer = number | 'hang' | { readonly status: number; readonly headers: Record<string, string> };

export interface ReceiverOptions {
  /**
   * How to answer each request: a status (200 by default), or `hang` to never answer (a receiver
   * that accepts and goes silent), or a promise of either (held until the test settles it).
   * Requests are recorded before the answer is decided.
   */
  readonly respond?: (request: { readonly index: number }) => Answer | Promise<Answer>;
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>` — an OTLP/HTTP base URL. */
  readonly url: string;
  readonly requests: readonly ReceivedRequest[];
  readonly spans: readonly ReceivedSpan[];
  /** Resolves once at least `count` spans have arrived; rejects after `timeoutMs`. */
  waitForSpans(count: number, timeoutMs?: number): Promise<readonly ReceivedSpan[]>;
  close(): Promise<void>;
}

export async function startOtlpReceiver(options: ReceiverOptions = {}): Promise<OtlpReceiver> {
  const requests: ReceivedRequest[] = [];
  const spans: ReceivedSpan[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const hanging = new Set<() => void>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const raw = Buffer.concat(chunks);
      const index = requests.length;
      const contentType = request.headers['content-type'];
      let decoded: ReceivedSpan[];
      try {
        decoded = request.method === 'POST' && request.url === '/v1/traces' ? decodeOtlp(raw, contentType) : [];
      } catch (error) {
        response.writeHead(400).end(String(error));
        return;
      }
      requests.push({ headers: request.headers, contentType, raw, spans: decoded });
      spans.push(...decoded);
      for (const waiter of [...waiters]) {
        if (spans.length >= waiter.count) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
      const answer = (await options.respond?.({ index })) ?? 200;
      if (answer === 'hang') {
        hanging.add(() => response.destroy());
        return;
      }
      const { status, headers } = typeof answer === 'number' ? { status: answer, headers: {} } : answer;
      response.writeHead(status, { 'content-type': contentType ?? 'application/json', ...headers }).end(contentType === 'application/json' ? '{}' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    spans,
    waitForSpans(count, timeoutMs = 10_000) {
      if (spans.length >= count) return Promise.resolve(spans);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the receiver got ${spans.length} spans, not ${count}, in ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(spans);
          },
        });
      });
    },
    async close() {
      for (const cut of hanging) cut();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface JsonKeyValue {
  key: string;
  value: JsonAnyValue;
}
interface JsonAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: JsonAnyValue[] };
}

/** protobufjs' `toObject` and OTLP/JSON share a shape once ids are hex: one reader for both. */
export function decodeOtlp(raw: Buffer, contentType: string | undefined): ReceivedSpan[] {
  let request: { resourceSpans?: unknown[] };
  let hexIds: boolean;
  if (contentType === 'application/x-protobuf') {
    const message = RequestType.decode(raw);
    request = RequestType.toObject(message, { longs: String, bytes: String, enums: Number, defaults: false, oneofs: false }) as typeof request;
    hexIds = false;
  } else if (contentType === 'application/json') {
    request = JSON.parse(raw.toString('utf8')) as typeof request;
    hexIds = true;
  } else {
    throw new Error(`unexpected content type ${contentType}`);
  }
  const id = (value: unknown): string | undefined =>
    typeof value !== 'string' || value === '' ? undefined : hexIds ? value : Buffer.from(value, 'base64').toString('hex');
  const out: ReceivedSpan[] = [];
  for (const resourceSpans of (request.resourceSpans ?? []) as { resource?: { attributes?: JsonKeyValue[] }; scopeSpans?: unknown[] }[]) {
    const resource = attributes(resourceSpans.resource?.attributes).values;
    for (const scopeSpans of (resourceSpans.scopeSpans ?? []) as { scope?: { name?: string; version?: string }; spans?: Record<string, unknown>[] }[]) {
      for (const span of scopeSpans.spans ?? []) {
        const { values, doubles } = attributes(span['attributes'] as JsonKeyValue[] | undefined);
        const status = (span['status'] ?? {}) as { code?: number; message?: string };
        out.push({
          traceId: id(span['traceId'])!,
          spanId: id(span['spanId'])!,
          parentSpanId: id(span['parentSpanId']),
          traceState: (span['traceState'] as string | undefined) || undefined,
          name: span['name'] as string,
          kind: Number(span['kind'] ?? 0),
          startNanos: BigInt(span['startTimeUnixNano'] as string),
          endNanos: BigInt(span['endTimeUnixNano'] as string),
          attributes: values,
          doubles,
          status: { code: Number(status.code ?? 0), message: status.message || undefined },
          resource,
          scope: { name: scopeSpans.scope?.name ?? '', version: scopeSpans.scope?.version ?? '' },
        });
      }
    }
  }
  return out;
}

function attributes(list: JsonKeyValue[] | undefined): { values: Record<string, ReceivedValue>; doubles: Set<string> } {
  const values: Record<string, ReceivedValue> = {};
  const doubles = new Set<string>();
  for (const { key, value } of list ?? []) {
    if (value.doubleValue !== undefined) doubles.add(key);
    values[key] = anyValue(value);
  }
  return { values, doubles };
}

function anyValue(value: JsonAnyValue): ReceivedValue {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(anyValue);
  // proto3 leaves a zero or empty value out: an int 0, a false, an empty string.
  return '';
}
