import { DEFAULT_METERING_SETTINGS } from '../../lambda/config/config';
import { SseParser, type SseEvent } from '../../lambda/metering/sse';
import { openaiFormat } from '../../lambda/formats/openai';
import { fixture } from '../support/fake-openai';

function parse(chunks: Uint8Array[]): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = new SseParser((event) => events.push(event), DEFAULT_METERING_SETTINGS.maxBufferedBytes);
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return events;
}

function usageOf(operation: string, chunks: Uint8Array[]): unknown {
  const reader = openaiFormat.streamReader(operation);
  const parser = new SseParser((event) => reader.onMessage({ framing: "sse", ...event }), DEFAULT_METERING_SETTINGS.maxBufferedBytes);
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return reader.result();
}

describe('SSE parsing', () => {
  it('assembles data, event names and multi-line data per the SSE spec', () => {
    const events = parse([Buffer.from(': comment\nevent: ping\ndata: a\ndata:b\n\ndata\n\nid: 1\nretry: 5\n\n')]);

    expect(events).toEqual([{ event: 'ping', data: 'a\nb' }, { data: '' }]);
  });

  it.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR', '\r'],
  ])('accepts %s line endings', (_name, eol) => {
    const text = `event: x${eol}data: 1${eol}${eol}data: 2${eol}${eol}`;

    expect(parse([Buffer.from(text)])).toEqual([{ event: 'x', data: '1' }, { data: '2' }]);
  });

  it('dispatches a final event that lacks its blank line when the stream ends', () => {
    expect(parse([Buffer.from('data: last')])).toEqual([{ data: 'last' }]);
  });

  it('stops at a line longer than its limit, whether or not the line ever ends, and says so', () => {
    const events: SseEvent[] = [];
    const parser = new SseParser((event) => events.push(event), 64);
    parser.push(Buffer.from('data: first\n\n'));
    for (let i = 0; i < 10; i++) parser.push(Buffer.from('x'.repeat(10)));
    parser.push(Buffer.from('\n\ndata: after\n\n'));
    parser.end();

    expect(events).toEqual([{ data: 'first' }]);
    expect(parser.overflowed).toBe(true);
  });

  it('stops at an event whose data lines add up past its limit, each line within it', () => {
    const line = `data: ${'x'.repeat(30)}\n`;
    const atLimit = new SseParser(() => {}, 30 * 2 + 1);
    atLimit.push(Buffer.from(`${line}${line}\n`));
    const pastLimit = new SseParser(() => {}, 30 * 2);
    pastLimit.push(Buffer.from(`${line}${line}\n`));

    expect(atLimit.overflowed).toBe(false);
    expect(pastLimit.overflowed).toBe(true);
  });

  describe.each([
    ['chat', 'chat-stream.sse'],
    ['responses', 'responses-stream.sse'],
  ])('%s stream split at every byte boundary', (operation, file) => {
    const whole = fixture(file);
    const expectedEvents = parse([whole]);
    const expectedUsage = usageOf(operation, [whole]);

    it('yields the same events and usage for every two-way split', () => {
      expect(expectedUsage).toMatchObject({ usage: { doc: expect.objectContaining({ usage: expect.any(Object) }) } });
      for (let at = 1; at < whole.length; at++) {
        const halves = [whole.subarray(0, at), whole.subarray(at)];
        expect(usageOf(operation, halves)).toEqual(expectedUsage);
        if (at % 97 === 0) expect(parse(halves)).toEqual(expectedEvents);
      }
    });

    it('yields the same events when fed one byte at a time, with CRLF endings', () => {
      const crlf = Buffer.from(whole.toString('utf8').replaceAll('\n', '\r\n'));
      const bytes = Array.from(crlf, (byte) => Uint8Array.of(byte));

      expect(parse(bytes)).toEqual(expectedEvents);
    });
  });
});
