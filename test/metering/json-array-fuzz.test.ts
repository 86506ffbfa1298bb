import fc from 'fast-check';
import { DEFAULT_METERING_SETTINGS } from '../../lambda/config/config';
import { geminiFormat } from '../../lambda/formats/gemini';
import type { Metered } from '../../lambda/formats/types';
import { JsonArraySplitter } from '../../lambda/metering/json-array';
import { vertexFixture } from '../support/fake-google';
import { chunked, chunkings, textOf } from '../support/chunkings';

const LIMIT = DEFAULT_METERING_SETTINGS.maxBufferedBytes;

interface Split {
  readonly elements: string[];
  readonly overflowed: boolean;
}

function split(chunks: readonly Uint8Array[], limit = LIMIT): Split {
  const elements: string[] = [];
  const splitter = new JsonArraySplitter((text) => elements.push(text), limit);
  for (const chunk of chunks) splitter.push(chunk);
  splitter.end();
  return { elements, overflowed: splitter.overflowed };
}

function usageOf(chunks: readonly Uint8Array[]): Metered {
  const reader = geminiFormat.streamReader('streamGenerateContent');
  const splitter = new JsonArraySplitter((data) => reader.onMessage({ framing: 'json-array', data }), LIMIT);
  for (const chunk of chunks) splitter.push(chunk);
  splitter.end();
  return reader.result();
}

describe('streamed JSON array splitting, fuzzed', () => {
  describe('google-vertex stream.json', () => {
    const whole = vertexFixture('stream.json');
    const expected = split([whole]);
    const expectedUsage = usageOf([whole]);

    it('yields the same elements and the same usage however it is chunked', () => {
      expect(expected.elements).toHaveLength(3);
      expect(expectedUsage.usage).toBeDefined();
      fc.assert(
        fc.property(chunkings(whole), (chunks) => {
          expect(split(chunks)).toEqual(expected);
          expect(usageOf(chunks)).toEqual(expectedUsage);
        }),
        { numRuns: 200 },
      );
    });

    it('overflows at the same element whatever the chunking, for any limit', () => {
      fc.assert(
        fc.property(chunkings(whole), fc.integer({ min: 1, max: whole.length }), (chunks, limit) => {
          expect(split(chunks, limit)).toEqual(split([whole], limit));
        }),
        { numRuns: 150 },
      );
    });
  });

  it('splits any array of JSON objects and arrays into its elements, however it is chunked', () => {
    const element = fc.oneof(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 4 }), fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }));
    const stream = fc.tuple(fc.array(element, { maxLength: 6 }), fc.constantFrom(undefined, 1, '\r\n')).map(([elements, indent]) => ({
      elements,
      bytes: Buffer.from(JSON.stringify(elements, null, indent), 'utf8'),
    }));
    fc.assert(
      fc.property(
        stream.chain((s) => chunkings(s.bytes).map((chunks) => ({ ...s, chunks }))),
        ({ elements, chunks }) => {
          const { elements: texts, overflowed } = split(chunks);
          expect(overflowed).toBe(false);
          expect(texts.map((text) => JSON.stringify(JSON.parse(text)))).toEqual(elements.map((value) => JSON.stringify(value)));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('never throws on arbitrary bytes, and chunking never changes what it yields', () => {
    fc.assert(
      fc.property(chunked(fc.uint8Array({ maxLength: 400 })), fc.integer({ min: 1, max: 500 }), ({ whole, chunks }, limit) => {
        expect(split(chunks, limit)).toEqual(split([whole], limit));
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on JSON-shaped text, and chunking never changes what it yields', () => {
    const pieces = ['[', ']', '{', '}', '"', '\\', '\\"', ',', ':', ' ', '\r\n', 'x', '1', 'é', '€', '👋'];
    fc.assert(
      fc.property(chunked(textOf(pieces)), fc.integer({ min: 1, max: 300 }), ({ whole, chunks }, limit) => {
        expect(split(chunks, limit)).toEqual(split([whole], limit));
        expect(split(chunks)).toEqual(split([whole]));
      }),
      { numRuns: 300 },
    );
  });
});
