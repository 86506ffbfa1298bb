import { DEFAULT_METERING_SETTINGS } from '../../lambda/config/config';
import { bedrockFormat } from '../../lambda/formats/bedrock';
import type { Metered } from '../../lambda/formats/types';
import { EventStreamParser, type EventStreamMessage } from '../../lambda/metering/eventstream';
import { createFramer, framingFor } from '../../lambda/metering/framing';
import { anthropicStreamEvents, converseStreamFrames, eventFrame, exceptionFrame, invokeStreamFrames } from '../support/bedrock-eventstream';

function parse(chunks: Uint8Array[]): EventStreamMessage[] {
  const messages: EventStreamMessage[] = [];
  const parser = new EventStreamParser((message) => messages.push({ headers: message.headers, payload: Buffer.from(message.payload) }), DEFAULT_METERING_SETTINGS.maxBufferedBytes);
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return messages;
}

function fingerprint(messages: EventStreamMessage[]): string {
  return messages.map((message) => `${JSON.stringify(message.headers)}:${Buffer.from(message.payload).toString('base64')}`).join('|');
}

/** The whole metering path for a Bedrock stream: framing chosen by content type, then the format's reader. */
function usageOf(operation: string, chunks: Uint8Array[]): Metered {
  const reader = bedrockFormat.streamReader(operation);
  const framing = framingFor('application/vnd.amazon.eventstream', false);
  if (framing === undefined) throw new Error('no framing for the event-stream content type');
  const framer = createFramer(framing, (message) => reader.onMessage(message), DEFAULT_METERING_SETTINGS.maxBufferedBytes);
  for (const chunk of chunks) framer.push(chunk);
  framer.end();
  return reader.result();
}

describe('AWS event-stream parsing', () => {
  it('decodes each frame into its string headers and payload', () => {
    const messages = parse([Buffer.concat(converseStreamFrames())]);

    expect(messages).toHaveLength(6);
    expect(messages[0]?.headers).toEqual({ ':event-type': 'messageStart', ':content-type': 'application/json', ':message-type': 'event' });
    expect(JSON.parse(Buffer.from(messages[5]?.payload ?? []).toString('utf8'))).toMatchObject({ usage: { inputTokens: 21, outputTokens: 9 } });
  });

  describe.each([
    ['converse-stream', () => converseStreamFrames(), { flavor: 'default', doc: expect.objectContaining({ usage: { cacheReadInputTokens: 2048, cacheWriteInputTokens: 512, inputTokens: 21, outputTokens: 9, totalTokens: 2590 } }) }],
    [
      'invoke-stream',
      () => invokeStreamFrames(),
      { flavor: 'default', doc: { usage: { inputTokens: 25, outputTokens: 14, cacheReadInputTokens: 1500, cacheWriteInputTokens: 0 } } },
    ],
  ])('%s split at every byte boundary', (operation, frames, expectedUsage) => {
    const whole = Buffer.concat(frames());
    const expectedMessages = parse([whole]);

    it('reads the usage the whole stream carries', () => {
      expect(usageOf(operation, [whole])).toEqual({ usage: expectedUsage });
    });

    it('yields the same messages and usage for every two-way split', () => {
      const usage = JSON.stringify(usageOf(operation, [whole]));
      const messages = fingerprint(expectedMessages);
      const differing: number[] = [];
      for (let at = 1; at < whole.length; at++) {
        const halves = [whole.subarray(0, at), whole.subarray(at)];
        if (JSON.stringify(usageOf(operation, halves)) !== usage || fingerprint(parse(halves)) !== messages) differing.push(at);
      }
      expect(differing).toEqual([]);
    });

    it('yields the same messages and usage when fed one byte at a time', () => {
      const bytes = [...whole].map((byte) => Uint8Array.of(byte));

      expect(parse(bytes)).toEqual(expectedMessages);
      expect(usageOf(operation, bytes)).toEqual({ usage: expectedUsage });
    });
  });

  it('stops at a frame that fails its CRC, keeping what came before', () => {
    const frames = converseStreamFrames();
    const corrupt = Buffer.from(frames[1] ?? []);
    const at = corrupt.length - 6;
    corrupt.writeUInt8(corrupt.readUInt8(at) ^ 0xff, at);

    const messages = parse([Buffer.concat([frames[0] ?? Buffer.alloc(0), corrupt, ...frames.slice(2)])]);

    expect(messages.map((message) => message.headers[':event-type'])).toEqual(['messageStart']);
  });

  it('reports an exception frame as a failure, with the usage seen before it', () => {
    const [messageStart, ...rest] = anthropicStreamEvents();
    const frames = [...invokeStreamFrames([messageStart ?? {}, ...rest.slice(0, 2)]), exceptionFrame('throttlingException', 'Too many tokens, please wait.')];

    expect(usageOf('invoke-stream', frames)).toEqual({
      failure: 'throttlingException: Too many tokens, please wait.',
      usage: { flavor: 'anthropic', doc: { usage: { input_tokens: 25, cache_creation_input_tokens: 0, cache_read_input_tokens: 1500, output_tokens: 1 } } },
    });
  });

  it('merges message_delta usage over message_start’s when the invocation metrics never came', () => {
    const events = anthropicStreamEvents().filter((event) => event['type'] !== 'message_stop');

    expect(usageOf('invoke-stream', invokeStreamFrames(events))).toEqual({
      usage: { flavor: 'anthropic', doc: { usage: { input_tokens: 25, cache_creation_input_tokens: 0, cache_read_input_tokens: 1500, output_tokens: 14 } } },
    });
  });

  it('ignores events it does not meter', () => {
    expect(usageOf('converse-stream', [eventFrame('messageStop', { stopReason: 'end_turn' })])).toEqual({});
  });
});
