import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { anthropicSseFromEventStream, GAVE_UP_FIELD } from '../../lambda/providers/bedrock-anthropic-stream';
import { anthropicStreamEvents, eventFrame, exceptionFrame, invokeStreamFrames } from '../support/bedrock-eventstream';
import { chunkings } from '../support/chunkings';

const LIMIT = 16 * 1024 * 1024;

/** The SSE Anthropic's API sends for these events. */
function sse(events: readonly Record<string, unknown>[]): string {
  return events.map((event) => `event: ${String(event['type'])}\ndata: ${JSON.stringify(event)}\n\n`).join('');
}

async function* from(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

async function unwrap(chunks: readonly Uint8Array[], options: { encoding?: string; limit?: number } = {}): Promise<string> {
  let text = '';
  const decoder = new TextDecoder();
  for await (const piece of anthropicSseFromEventStream(from(chunks), options.encoding, options.limit ?? LIMIT)) text += decoder.decode(piece, { stream: true });
  return text + decoder.decode();
}

function errorData(text: string): unknown {
  const match = /event: error\ndata: (.*)\n\n$/.exec(text);
  return match?.[1] === undefined ? undefined : JSON.parse(match[1]);
}

describe('unwrapping InvokeModelWithResponseStream into Anthropic SSE', () => {
  it('gives the same SSE however the frames are cut', async () => {
    const whole = Buffer.concat(invokeStreamFrames());
    const expected = sse(anthropicStreamEvents());

    await fc.assert(
      fc.asyncProperty(chunkings(whole), async (chunks) => {
        expect(await unwrap(chunks)).toBe(expected);
      }),
      { numRuns: 60 },
    );
  });

  it('undoes a content coding before reading frames', async () => {
    const whole = Buffer.concat(invokeStreamFrames());
    const gzipped = gzipSync(whole);

    expect(await unwrap([gzipped.subarray(0, 10), gzipped.subarray(10)], { encoding: 'gzip' })).toBe(sse(anthropicStreamEvents()));
  });

  it('re-serialises an event whose JSON spans lines, which SSE data cannot', async () => {
    const event = { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'a\nb' } };
    const multiline = JSON.stringify(event, null, 2);
    const frame = eventFrame('chunk', { bytes: Buffer.from(multiline).toString('base64') });

    expect(await unwrap([frame])).toBe(`event: content_block_delta\ndata: ${JSON.stringify(event)}\n\n`);
  });

  it('drops chunks whose event has no type, and events other than chunks', async () => {
    const frames = [
      eventFrame('chunk', { bytes: Buffer.from('{"keepalive":true}').toString('base64') }),
      eventFrame('somethingNew', { bytes: Buffer.from('{"type":"ping"}').toString('base64') }),
      ...invokeStreamFrames(),
    ];

    expect(await unwrap(frames)).toBe(sse(anthropicStreamEvents()));
  });

  it.each([
    ['modelStreamErrorException', 'api_error'],
    ['throttlingException', 'rate_limit_error'],
    ['serviceUnavailableException', 'overloaded_error'],
    ['modelTimeoutException', 'timeout_error'],
    ['validationException', 'invalid_request_error'],
    ['internalServerException', 'api_error'],
  ])('ends the stream at an exception frame (%s) with an Anthropic %s event, and sends nothing after it', async (exception, type) => {
    const frames = [...invokeStreamFrames().slice(0, 2), exceptionFrame(exception, 'It broke.'), ...invokeStreamFrames().slice(2)];

    const text = await unwrap([Buffer.concat(frames)]);

    expect(text.startsWith(sse(anthropicStreamEvents().slice(0, 2)))).toBe(true);
    expect(errorData(text)).toEqual({ type: 'error', error: { type, message: `${exception}: It broke.` } });
  });

  it.each([
    ['a message over the buffering limit', [Buffer.concat(invokeStreamFrames())], 64, 'buffered-limit'],
    ['a frame whose checksum fails', [corrupted(invokeStreamFrames()[0] as Buffer)], LIMIT, 'unreadable-framing'],
    ['a stream cut inside a frame', [(invokeStreamFrames()[0] as Buffer).subarray(0, 40)], LIMIT, 'cut-inside-message'],
    ['a chunk whose bytes are not an event', [eventFrame('chunk', { bytes: Buffer.from('not json').toString('base64') })], LIMIT, 'unreadable-chunk'],
  ])('gives up on %s with an error event marked as the gateway’s', async (_what, chunks, limit, reason) => {
    const text = await unwrap(chunks, { limit });

    expect(errorData(text)).toMatchObject({ type: 'error', error: { type: 'api_error' }, [GAVE_UP_FIELD]: reason });
  });

  it('gives up on a content coding it cannot undo', async () => {
    expect(errorData(await unwrap(invokeStreamFrames(), { encoding: 'zstd' }))).toMatchObject({ [GAVE_UP_FIELD]: 'unknown-encoding' });
  });

  it('stops reading the upstream once it has ended the stream', async () => {
    let closed = false;
    let pulled = 0;
    async function* upstream(): AsyncGenerator<Uint8Array> {
      try {
        for (const frame of [exceptionFrame('modelStreamErrorException', 'x'), ...invokeStreamFrames()]) {
          pulled++;
          yield frame;
        }
      } finally {
        closed = true;
      }
    }

    for await (const _piece of anthropicSseFromEventStream(upstream(), undefined, LIMIT));

    expect(pulled).toBe(1);
    expect(closed).toBe(true);
  });

  it('throws what the upstream throws: a broken upstream is not a finished stream', async () => {
    async function* upstream(): AsyncGenerator<Uint8Array> {
      yield invokeStreamFrames()[0] as Buffer;
      throw new Error('socket hang up');
    }

    const pieces: Uint8Array[] = [];
    const failure = await (async () => {
      for await (const piece of anthropicSseFromEventStream(upstream(), undefined, LIMIT)) pieces.push(piece);
    })().catch((error: unknown) => error);

    expect(failure).toEqual(new Error('socket hang up'));
    expect(Buffer.concat(pieces).toString('utf8')).toBe(sse(anthropicStreamEvents().slice(0, 1)));
  });
});

/** The frame with one payload byte changed: its message checksum no longer matches. */
function corrupted(frame: Buffer): Buffer {
  const copy = Buffer.from(frame);
  const at = copy.byteLength - 8;
  copy[at] = (copy[at] as number) ^ 0xff;
  return copy;
}
