import { DEFAULT_METERING_SETTINGS } from '../../lambda/config/config';
import { anthropicFormat } from '../../lambda/formats/anthropic';
import type { Metered } from '../../lambda/formats/types';
import { createFramer } from '../../lambda/metering/framing';
import { Pricer } from '../../lambda/pricing/pricer';
import { anthropicFixture } from '../support/fake-anthropic';

function meter(chunks: Uint8Array[]): Metered {
  const reader = anthropicFormat.streamReader('messages');
  const framer = createFramer('sse', (message) => reader.onMessage(message), DEFAULT_METERING_SETTINGS.maxBufferedBytes);
  for (const chunk of chunks) framer.push(chunk);
  framer.end();
  return reader.result();
}

function sse(events: Record<string, unknown>[]): Buffer {
  return Buffer.from(events.map((event) => `event: ${String(event['type'])}\ndata: ${JSON.stringify(event)}\n\n`).join(''));
}

const pricer = new Pricer();
const nanosOf = (metered: Metered) => metered.usage && pricer.price('anthropic', metered.model ?? '', metered.usage)?.nanos;

describe('Anthropic stream usage', () => {
  describe.each([
    ['message-stream.sse', { input_tokens: 472, cache_creation_input_tokens: 1200, cache_read_input_tokens: 3150, output_tokens: 37 }, undefined],
    ['message-stream-overloaded.sse', { input_tokens: 25, output_tokens: 1 }, 'overloaded_error: Overloaded'],
  ])('%s', (file, expectedUsage, expectedFailure) => {
    const whole = anthropicFixture(file);
    const expected = meter([whole]);

    it('reads the model, the merged usage and any failure', () => {
      expect(expected.model).toBe('claude-sonnet-4-20250514');
      expect(expected.usage?.flavor).toBe('default');
      expect(expected.usage?.doc).toMatchObject({ model: 'claude-sonnet-4-20250514', usage: expectedUsage });
      expect(expected.failure).toBe(expectedFailure);
    });

    it('gives the same result for every two-way split', () => {
      for (let at = 1; at < whole.length; at++) {
        expect(meter([whole.subarray(0, at), whole.subarray(at)])).toEqual(expected);
      }
    });

    it('gives the same result one byte at a time, with CRLF line endings', () => {
      const crlf = Buffer.from(whole.toString('utf8').replaceAll('\n', '\r\n'));
      expect(meter([...crlf].map((byte) => Uint8Array.of(byte)))).toEqual(expected);
    });
  });

  it('prices the 1-hour cache write from message_start after message_delta has replaced the output count', () => {
    // 472×$3 + 1200×$6 + 3150×$0.30 + 37×$15 per million tokens.
    expect(nanosOf(meter([anthropicFixture('message-stream.sse')]))).toBe(10_116_000);
  });

  it('takes cumulative message_delta totals as replacements, never sums, and keeps fields a delta leaves null', () => {
    // A web-search turn: server tools make the API send several deltas, each with running totals.
    const stream = sse([
      { type: 'message_start', message: { model: 'claude-sonnet-4-20250514', usage: { input_tokens: 0, cache_read_input_tokens: 900, output_tokens: 1 } } },
      { type: 'message_delta', delta: {}, usage: { input_tokens: 2100, cache_read_input_tokens: null, output_tokens: 50, server_tool_use: { web_search_requests: 1 } } },
      { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { input_tokens: 4200, cache_read_input_tokens: null, output_tokens: 120, server_tool_use: { web_search_requests: 2 } } },
    ]);

    const metered = meter([stream]);

    expect(metered.usage?.doc).toEqual({
      model: 'claude-sonnet-4-20250514',
      usage: { input_tokens: 4200, cache_read_input_tokens: 900, output_tokens: 120, server_tool_use: { web_search_requests: 2 } },
    });
    // (4200 − 0)×$3 + 900×$0.30 + 120×$15 per million tokens, and 2 searches at $10 per thousand.
    expect(nanosOf(metered)).toBe(12_600_000 + 270_000 + 1_800_000 + 20_000_000);
  });

  it('reports no usage for a stream cut before its message_delta: message_start’s output count is a placeholder, not the answer’s', () => {
    // GIVEN a stream that started, wrote, and was cut by the transport before its final counts
    const whole = anthropicFixture('message-stream.sse').toString('utf8');
    const cut = Buffer.from(whole.slice(0, whole.indexOf('event: message_delta')));

    // THEN it reads the model but no usage, so the request is charged its reservation, not 2 output tokens
    expect(meter([cut])).toEqual({ model: 'claude-sonnet-4-20250514', usage: undefined, failure: undefined });
  });

  it('reports no usage for a stream that never started a message', () => {
    expect(meter([Buffer.from('event: ping\ndata: {"type":"ping"}\n\n')])).toEqual({ model: undefined, usage: undefined, failure: undefined });
  });
});
