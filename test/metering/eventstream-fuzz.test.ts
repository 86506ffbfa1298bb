import fc from 'fast-check';
import { DEFAULT_METERING_SETTINGS } from '../../lambda/config/config';
import { bedrockFormat } from '../../lambda/formats/bedrock';
import type { Metered } from '../../lambda/formats/types';
import { EventStreamParser } from '../../lambda/metering/eventstream';
import { createFramer } from '../../lambda/metering/framing';
import { converseStreamFrames, eventFrame, invokeStreamFrames } from '../support/bedrock-eventstream';
import { chunked, chunkings } from '../support/chunkings';

const LIMIT = DEFAULT_METERING_SETTINGS.maxBufferedBytes;

interface Parsed {
  /** Each message's headers and base64 payload: comparable with toEqual. */
  readonly messages: { headers: Readonly<Record<string, string>>; payload: string }[];
  readonly overflowed: boolean;
}

function parse(chunks: readonly Uint8Array[], limit = LIMIT): Parsed {
  const messages: Parsed['messages'] = [];
  const parser = new EventStreamParser((message) => messages.push({ headers: message.headers, payload: Buffer.from(message.payload).toString('base64') }), limit);
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return { messages, overflowed: parser.overflowed };
}

/** The whole metering path for a Bedrock stream: the framer, then the format's reader. */
function usageOf(operation: string, chunks: readonly Uint8Array[]): Metered {
  const reader = bedrockFormat.streamReader(operation);
  const framer = createFramer('aws-eventstream', (message) => reader.onMessage(message), LIMIT);
  for (const chunk of chunks) framer.push(chunk);
  framer.end();
  return reader.result();
}

describe('AWS event-stream parsing, fuzzed', () => {
  describe.each([
    ['converse-stream.events.json', 'converse-stream', () => converseStreamFrames()],
    ['invoke-stream-anthropic.events.json', 'invoke-stream', () => invokeStreamFrames()],
  ])('%s', (_name, operation, frames) => {
    const whole = Buffer.concat(frames());
    const expected = parse([whole]);
    const expectedUsage = usageOf(operation, [whole]);

    it('yields the same messages and the same usage however it is chunked', () => {
      expect(expected.messages).toHaveLength(frames().length);
      expect(expectedUsage.usage).toBeDefined();
      fc.assert(
        fc.property(chunkings(whole), (chunks) => {
          expect(parse(chunks)).toEqual(expected);
          expect(usageOf(operation, chunks)).toEqual(expectedUsage);
        }),
        { numRuns: 200 },
      );
    });

    it('overflows at the same message whatever the chunking, for any limit', () => {
      const longest = Math.max(...frames().map((frame) => frame.length));
      fc.assert(
        fc.property(chunkings(whole), fc.integer({ min: 1, max: longest + 1 }), (chunks, limit) => {
          const got = parse(chunks, limit);
          expect(got).toEqual(parse([whole], limit));
          expect(got.overflowed).toBe(limit < longest);
        }),
        { numRuns: 150 },
      );
    });

    it('never throws when bytes are corrupted, and chunking never changes what it yields', () => {
      const corrupted = fc
        .tuple(fc.array(fc.tuple(fc.nat(whole.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }), fc.uint8Array({ maxLength: 16 }))
        .map(([flips, tail]) => {
          const bytes = Buffer.concat([whole, tail]);
          for (const [at, mask] of flips) bytes[at] = (bytes[at] as number) ^ mask;
          return new Uint8Array(bytes);
        });
      fc.assert(
        fc.property(chunked(corrupted), ({ whole: bytes, chunks }) => {
          expect(parse(chunks)).toEqual(parse([bytes]));
        }),
        { numRuns: 200 },
      );
    });
  });

  it('reads back any sequence of frames, however it is chunked', () => {
    const frame = fc.record({ type: fc.string({ minLength: 1, maxLength: 12 }), payload: fc.jsonValue({ maxDepth: 2 }) });
    const stream = fc.array(frame, { maxLength: 5 }).map((events) => ({ events, bytes: new Uint8Array(Buffer.concat(events.map((e) => eventFrame(e.type, e.payload)))) }));
    fc.assert(
      fc.property(
        stream.chain((s) => chunkings(s.bytes).map((chunks) => ({ ...s, chunks }))),
        ({ events, chunks }) => {
          const { messages, overflowed } = parse(chunks);
          expect(overflowed).toBe(false);
          expect(messages.map((m) => m.headers[':event-type'])).toEqual(events.map((e) => e.type));
          expect(messages.map((m) => Buffer.from(m.payload, 'base64').toString('utf8'))).toEqual(events.map((e) => JSON.stringify(e.payload)));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('never throws on arbitrary bytes, and chunking never changes what it yields', () => {
    fc.assert(
      fc.property(chunked(fc.uint8Array({ maxLength: 400 })), fc.integer({ min: 1, max: 500 }), ({ whole, chunks }, limit) => {
        expect(parse(chunks, limit)).toEqual(parse([whole], limit));
      }),
      { numRuns: 300 },
    );
  });
});
