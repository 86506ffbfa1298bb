import * as fc from 'fast-check';
import { encodeJson } from '../../lambda/observability/otel/otlp-json';
import { encodeProto } from '../../lambda/observability/otel/otlp-proto';
import { Double, SpanKind, StatusCode, toNanos, type Attributes, type SpanData, type SpanSource } from '../../lambda/observability/otel/span';
import { newSpanId, newTraceId } from '../../lambda/observability/otel/trace-context';
import { decodeOtlp, type ReceivedSpan } from '../support/otlp-receiver';

const SOURCE: SpanSource = { resource: { 'service.name': 'tollgate', 'faas.name': undefined }, scopeName: 'tollgate', scopeVersion: '0.1.0' };

function span(attributes: Attributes, overrides: Partial<SpanData> = {}): SpanData {
  return {
    traceId: newTraceId(),
    spanId: newSpanId(),
    parentSpanId: newSpanId(),
    traceState: 'congo=t61rcWkgMzE',
    name: 'chat gpt-4o',
    kind: SpanKind.server,
    startMs: 1_764_000_000_123.456789,
    endMs: 1_764_000_000_987.654321,
    attributes,
    status: StatusCode.unset,
    ...overrides,
  };
}

const both = (spans: SpanData[]): [string, ReceivedSpan[]][] => [
  ['protobuf', decodeOtlp(Buffer.from(encodeProto(SOURCE, spans)), 'application/x-protobuf')],
  ['json', decodeOtlp(Buffer.from(encodeJson(SOURCE, spans)), 'application/json')],
];

describe('OTLP encoders', () => {
  it('write every field of a span where opentelemetry-proto puts it, in both encodings', () => {
    const sent = span(
      {
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': 1234,
        'tollgate.cost.usd': new Double(0.007375),
        'tollgate.cost.nanos': 7_375_000,
        'tollgate.stream': false,
        'gen_ai.response.finish_reasons': ['stop', 'length'],
        'http.response.status_code': 0,
        skipped: undefined,
        'big.negative': -42,
        'unicode ✓': 'Grüße, 世界',
      },
      { status: StatusCode.error, statusMessage: 'project "acme" monthly limit reached', kind: SpanKind.client },
    );
    for (const [encoding, [got]] of both([sent])) {
      expect({ encoding, ...got }).toEqual({
        encoding,
        traceId: sent.traceId,
        spanId: sent.spanId,
        parentSpanId: sent.parentSpanId,
        traceState: 'congo=t61rcWkgMzE',
        name: 'chat gpt-4o',
        kind: 3,
        // A double holds epoch milliseconds to about a quarter of a microsecond.
        startNanos: toNanos(sent.startMs),
        endNanos: toNanos(sent.endMs),
        attributes: {
          'gen_ai.request.model': 'gpt-4o',
          'gen_ai.usage.input_tokens': 1234,
          'tollgate.cost.usd': 0.007375,
          'tollgate.cost.nanos': 7_375_000,
          'tollgate.stream': false,
          'gen_ai.response.finish_reasons': ['stop', 'length'],
          'http.response.status_code': 0,
          'big.negative': -42,
          'unicode ✓': 'Grüße, 世界',
        },
        doubles: new Set(['tollgate.cost.usd']),
        status: { code: 2, message: 'project "acme" monthly limit reached' },
        resource: { 'service.name': 'tollgate' },
        scope: { name: 'tollgate', version: '0.1.0' },
      });
      expect(Number(got!.startNanos - 1_764_000_000_123_456_789n)).toBeLessThan(1000);
    }
  });

  it('leaves out a root span’s parent and trace state', () => {
    for (const [, [got]] of both([span({}, { parentSpanId: undefined, traceState: undefined })])) {
      expect(got?.parentSpanId).toBeUndefined();
      expect(got?.traceState).toBeUndefined();
      expect(got?.status).toEqual({ code: 0, message: undefined });
    }
  });

  it('round-trip any attributes and any number of spans, the two encodings agreeing', () => {
    const value = fc.oneof(
      fc.string({ maxLength: 300, unit: 'binary' }),
      fc.boolean(),
      fc.maxSafeInteger(),
      fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
      fc.array(fc.string({ unit: 'grapheme' }), { maxLength: 5 }),
    );
    fc.assert(
      fc.property(fc.array(fc.dictionary(fc.string({ minLength: 1, maxLength: 40 }).filter((k) => k !== '__proto__'), value, { maxKeys: 30 }), { minLength: 1, maxLength: 8 }), (maps) => {
        const spans = maps.map((attributes) => span(attributes));
        const [proto, json] = both(spans).map(([, decoded]) => decoded) as [ReceivedSpan[], ReceivedSpan[]];
        expect(proto).toHaveLength(spans.length);
        expect(json).toEqual(proto);
        proto.forEach((got, i) => {
          // A lone surrogate cannot be UTF-8: both encoders send U+FFFD for it, as Buffer does.
          const wellFormed = (text: string): string => Buffer.from(text, 'utf8').toString('utf8');
          const expected = Object.fromEntries(Object.entries(maps[i]!).map(([k, v]) => [wellFormed(k), typeof v === 'string' ? wellFormed(v) : v]));
          expect(got.attributes).toEqual(expected);
          expect(got.startNanos).toBe(toNanos(spans[i]!.startMs));
        });
      }),
      { numRuns: 150 },
    );
  });

  it('grows its buffer past the first guess (a 1 MiB attribute)', () => {
    const big = 'x'.repeat(1024 * 1024);
    for (const [, [got]] of both([span({ body: big })])) expect(got?.attributes['body']).toBe(big);
  });
});

describe('the protobuf encoder’s buffer', () => {
  /** An attempt span's attributes (~400 bytes encoded), or the same with a captured response body. */
  const attempt = (body?: string): Attributes => ({
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o',
    'tollgate.account': 'openai-east',
    'tollgate.attempt': 1,
    'http.request.method': 'POST',
    'http.response.status_code': 200,
    'server.address': 'api.openai.com',
    'server.port': 443,
    'url.full': 'https://api.openai.com/v1/chat/completions',
    ...(body !== undefined && { 'tollgate.response.body': body }),
  });
  const batch = (body?: string): SpanData[] => Array.from({ length: 512 }, () => span(attempt(body)));
  /** What the encoded bytes hold on to while they are sent: the whole buffer they were written in. */
  const held = (bytes: Uint8Array): number => bytes.buffer.byteLength / bytes.byteLength;

  it('is sized from the batch, after what spans took lately: neither far more than its bytes, nor grown from far less', () => {
    // GIVEN small spans seen before
    encodeProto(SOURCE, batch());

    // WHEN a batch of small spans is encoded, then (once the encoder has seen some) a batch of spans carrying bodies
    const small = encodeProto(SOURCE, batch());
    encodeProto(SOURCE, batch('b'.repeat(4096)));
    const large = encodeProto(SOURCE, batch('b'.repeat(4096)));

    // THEN each holds little more memory than its bytes
    expect(small.byteLength).toBeLessThan(300 * 1024);
    expect(held(small)).toBeLessThanOrEqual(1.25);
    expect(large.byteLength).toBeGreaterThan(2 * 1024 * 1024);
    expect(held(large)).toBeLessThanOrEqual(1.25);
  });

  it('writes the same bytes whatever it guessed: too small, about right or too large', () => {
    const spans = batch('y'.repeat(300));
    const encoded = [batch(), batch('z'.repeat(8192)), batch('y'.repeat(300))].map((before) => {
      encodeProto(SOURCE, before);
      return Buffer.from(encodeProto(SOURCE, spans));
    });
    expect(encoded[1]!.equals(encoded[0]!)).toBe(true);
    expect(encoded[2]!.equals(encoded[0]!)).toBe(true);
    expect(decodeOtlp(encoded[0]!, 'application/x-protobuf')).toHaveLength(512);
  });
});
