import fc from 'fast-check';
import { DEFAULT_METERING_SETTINGS } from '../../lambda/config/config';
import { anthropicFormat } from '../../lambda/formats/anthropic';
import { geminiFormat } from '../../lambda/formats/gemini';
import { openaiFormat } from '../../lambda/formats/openai';
import type { Metered, WireFormat } from '../../lambda/formats/types';
import { SseParser, type SseEvent } from '../../lambda/metering/sse';
import { anthropicFixture } from '../support/fake-anthropic';
import { vertexFixture } from '../support/fake-google';
import { fixture } from '../support/fake-openai';
import { chunked, chunkings, textOf } from '../support/chunkings';

const LIMIT = DEFAULT_METERING_SETTINGS.maxBufferedBytes;

interface Parsed {
  readonly events: SseEvent[];
  readonly overflowed: boolean;
}

function parse(chunks: readonly Uint8Array[], limit = LIMIT): Parsed {
  const events: SseEvent[] = [];
  const parser = new SseParser((event) => events.push(event), limit);
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return { events, overflowed: parser.overflowed };
}

function usageOf(format: WireFormat, operation: string, chunks: readonly Uint8Array[]): Metered {
  const reader = format.streamReader(operation);
  const parser = new SseParser((event) => reader.onMessage({ framing: 'sse', ...event }), LIMIT);
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return reader.result();
}

const crlf = (bytes: Buffer): Buffer => Buffer.from(bytes.toString('utf8').replaceAll('\n', '\r\n'));

describe('SSE parsing, fuzzed', () => {
  describe.each([
    ['openai chat-stream.sse', openaiFormat, 'chat', fixture('chat-stream.sse')],
    ['openai chat-stream.sse, CRLF', openaiFormat, 'chat', crlf(fixture('chat-stream.sse'))],
    ['openai responses-stream.sse', openaiFormat, 'responses', fixture('responses-stream.sse')],
    ['anthropic message-stream.sse', anthropicFormat, 'messages', anthropicFixture('message-stream.sse')],
    ['anthropic message-stream.sse, CRLF', anthropicFormat, 'messages', crlf(anthropicFixture('message-stream.sse'))],
    ['google-vertex stream.sse (CRLF)', geminiFormat, 'streamGenerateContent', vertexFixture('stream.sse')],
  ])('%s', (_name, format, operation, whole) => {
    const expected = parse([whole]);
    const expectedUsage = usageOf(format, operation, [whole]);

    it('yields the same events and the same usage however it is chunked', () => {
      expect(expectedUsage.usage).toBeDefined();
      fc.assert(
        fc.property(chunkings(whole), (chunks) => {
          expect(parse(chunks)).toEqual(expected);
          expect(usageOf(format, operation, chunks)).toEqual(expectedUsage);
        }),
        { numRuns: 150 },
      );
    });

    it('overflows at the same point whatever the chunking, for any limit', () => {
      fc.assert(
        fc.property(chunkings(whole), fc.integer({ min: 1, max: whole.length }), (chunks, limit) => {
          expect(parse(chunks, limit)).toEqual(parse([whole], limit));
        }),
        { numRuns: 100 },
      );
    });
  });

  it('never throws on arbitrary bytes, and chunking never changes what it yields', () => {
    fc.assert(
      fc.property(chunked(fc.uint8Array({ maxLength: 400 })), fc.integer({ min: 1, max: 500 }), ({ whole, chunks }, limit) => {
        expect(parse(chunks, limit)).toEqual(parse([whole], limit));
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on SSE-shaped text, and chunking never changes what it yields', () => {
    const pieces = ['data', 'event', 'id', 'retry', ':', ': ', ' ', 'x', '{"usage":1}', '\n', '\r', '\r\n', '\n\n', 'é', '€', '👋'];
    fc.assert(
      fc.property(chunked(textOf(pieces)), fc.integer({ min: 1, max: 300 }), ({ whole, chunks }, limit) => {
        expect(parse(chunks, limit)).toEqual(parse([whole], limit));
        expect(parse(chunks)).toEqual(parse([whole]));
      }),
      { numRuns: 300 },
    );
  });
});
