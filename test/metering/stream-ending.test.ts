import { EventStreamCodec } from '@smithy/eventstream-codec';
import { createFramer, type Framing, type StreamMessage } from '../../lambda/metering/framing';
import { messageAfter } from '../../lambda/metering/stream-ending';

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  (text) => Buffer.from(text, 'utf8'),
);

/** What was sent before the cut, as a framer saw it, and the bytes that would end the stream. */
function after(framing: Framing, sent: readonly (string | Uint8Array)[], message: StreamMessage): string | undefined {
  const framer = createFramer(framing, () => {}, 1024);
  const chunks = sent.map((chunk) => (typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
  for (const chunk of chunks) framer.push(chunk);
  const tail = messageAfter(message, framer, chunks[chunks.length - 1]);
  return tail && Buffer.from(tail).toString('utf8');
}

const SSE_ERROR: StreamMessage = { framing: 'sse', event: 'error', data: '{"type":"error"}' };
const ELEMENT: StreamMessage = { framing: 'json-array', data: '{"error":{"code":502}}' };

describe('messageAfter: the message that ends a broken stream', () => {
  it.each([
    ['nothing sent', []],
    ['a whole event', ['data: {"a":1}\n\n']],
    ['a whole event in CRLFs, split in its line break', ['data: {"a":1}\r\n\r', '\n']],
    ['a comment', ['data: {"a":1}\n\n: keep-alive\n']],
  ])('writes an SSE event after %s', (_what, sent) => {
    expect(after('sse', sent, SSE_ERROR)).toBe('event: error\ndata: {"type":"error"}\n\n');
  });

  it.each([
    ['half a line', ['data: {"a":']],
    ['a data line whose event is not ended', ['data: {"a":1}\n']],
    ['an event name alone', ['event: delta\n']],
  ])('refuses after %s: the client would read the two as one event', (_what, sent) => {
    expect(after('sse', sent, SSE_ERROR)).toBeUndefined();
  });

  it.each([
    ['nothing sent', [], '[{"error":{"code":502}}]'],
    ['the opening bracket', ['[\n'], '{"error":{"code":502}}]'],
    ['an element and its comma', ['[{"a":"}"}\n,\r\n'], '{"error":{"code":502}}]'],
    ['an element without its comma', ['[{"a":1}\r\n'], ',{"error":{"code":502}}]'],
  ])('writes the last element of a streamed array, and closes it, after %s', (_what, sent, expected) => {
    const written = after('json-array', sent, ELEMENT);

    expect(written).toBe(expected);
    expect(JSON.parse([...sent, written].join(''))).toContainEqual({ error: { code: 502 } });
  });

  it.each([
    ['half an element', ['[{"a":[1,']],
    ['inside a string', ['[{"a":"x']],
    ['a closed array', ['[{"a":1}]']],
    // Whether a comma came before it is not looked for further back: no guess.
    ['a last chunk of white space alone', ['[{"a":1}', '\r\n']],
  ])('refuses after %s', (_what, sent) => {
    expect(after('json-array', sent, ELEMENT)).toBeUndefined();
  });

  it('frames an event-stream message the AWS codec decodes, after whole frames only', () => {
    const frame = Buffer.from(codec.encode({ headers: { ':message-type': { type: 'string', value: 'event' } }, body: Buffer.from('{}') }));
    const exception: StreamMessage = {
      framing: 'aws-eventstream',
      headers: { ':message-type': 'exception', ':exception-type': 'serviceUnavailableException' },
      data: '{"message":"gone"}',
    };

    const framer = createFramer('aws-eventstream', () => {}, 1024);
    framer.push(frame);
    const tail = messageAfter(exception, framer, frame);
    framer.push(frame.subarray(0, 7));
    const midFrame = messageAfter(exception, framer, frame.subarray(0, 7));

    const decoded = codec.decode(tail!);
    expect(decoded.headers[':exception-type']).toEqual({ type: 'string', value: 'serviceUnavailableException' });
    expect(Buffer.from(decoded.body).toString('utf8')).toBe('{"message":"gone"}');
    expect(midFrame).toBeUndefined();
  });

  it('refuses once the framer gave up on an oversized message', () => {
    const framer = createFramer('sse', () => {}, 8);
    framer.push(Buffer.from('data: a line longer than eight\n\n'));

    expect(framer.overflowed).toBe(true);
    expect(messageAfter(SSE_ERROR, framer, undefined)).toBeUndefined();
  });
});
