import * as fc from 'fast-check';
import { formatTraceparent, newSpanId, newTraceId, parseTraceparent, parseTracestate } from '../../lambda/observability/otel/trace-context';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('traceparent', () => {
  it('reads the W3C example', () => {
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-01`)).toEqual({ traceId: TRACE, spanId: SPAN, flags: 1 });
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-00`)).toEqual({ traceId: TRACE, spanId: SPAN, flags: 0 });
  });

  it.each([
    ['upper-case hex', `00-${TRACE.toUpperCase()}-${SPAN}-01`],
    ['version ff', `ff-${TRACE}-${SPAN}-01`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${SPAN}-01`],
    ['all-zero span id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['short trace id', `00-${TRACE.slice(1)}-${SPAN}-01`],
    ['version 00 with more after the flags', `00-${TRACE}-${SPAN}-01-extra`],
    ['non-hex flags', `00-${TRACE}-${SPAN}-0g`],
    ['two headers', [`00-${TRACE}-${SPAN}-01`, `00-${TRACE}-${SPAN}-01`]],
    ['nothing', undefined],
    ['empty', ''],
  ])('ignores %s', (_name, header) => {
    expect(parseTraceparent(header)).toBeUndefined();
  });

  it('reads the first four fields of a later version and ignores what follows', () => {
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-01-whatever`)).toEqual({ traceId: TRACE, spanId: SPAN, flags: 1 });
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-01x`)).toBeUndefined();
  });

  it('round-trips what it writes', () => {
    fc.assert(
      fc.property(fc.boolean(), (sampled) => {
        const traceId = newTraceId();
        const spanId = newSpanId();
        expect(parseTraceparent(formatTraceparent(traceId, spanId, sampled))).toEqual({ traceId, spanId, flags: sampled ? 1 : 0 });
      }),
    );
  });

  it('draws ids of the right length, hex, and different each time', () => {
    const ids = new Set(Array.from({ length: 2000 }, () => newSpanId()));
    expect(ids.size).toBe(2000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(newTraceId()).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('tracestate', () => {
  it('keeps well-formed members, joined as one list', () => {
    expect(parseTracestate('congo=t61rcWkgMzE, rojo=00f067aa0ba902b7')).toBe('congo=t61rcWkgMzE,rojo=00f067aa0ba902b7');
    expect(parseTracestate(['a=1', 'tenant@vendor=x'])).toBe('a=1,tenant@vendor=x');
  });

  it.each([
    ['a member without a value', 'congo'],
    ['an upper-case key', 'Congo=1'],
    ['a value with a comma-like equals', 'a=b=c'],
    ['too many members', Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',')],
    ['too long', `a=${'x'.repeat(600)}`],
  ])('drops a list with %s', (_name, header) => {
    expect(parseTracestate(header)).toBeUndefined();
  });
});
