import { DEFAULT_METERING_SETTINGS } from '../../lambda/config/config';
import { groqFormat } from '../../lambda/formats/groq';
import type { Metered } from '../../lambda/formats/types';
import { createFramer } from '../../lambda/metering/framing';
import { Pricer } from '../../lambda/pricing/pricer';
import { groqFixture } from '../support/fake-groq';

function meter(chunks: Uint8Array[]): Metered {
  const reader = groqFormat.streamReader('chat');
  const framer = createFramer('sse', (message) => reader.onMessage(message), DEFAULT_METERING_SETTINGS.maxBufferedBytes);
  for (const chunk of chunks) framer.push(chunk);
  framer.end();
  return reader.result();
}

function sse(chunks: Record<string, unknown>[]): Buffer {
  return Buffer.from(`${chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join('')}data: [DONE]\n\n`);
}

const pricer = new Pricer();
const nanosOf = (metered: Metered) => metered.usage && pricer.price('groq', metered.model ?? '', metered.usage)?.nanos;

const FIRST = { id: 'chatcmpl-1', object: 'chat.completion.chunk', model: 'llama-3.3-70b-versatile', choices: [{ index: 0, delta: { content: 'Hi' } }] };
const USAGE = { prompt_tokens: 38, completion_tokens: 9, total_tokens: 47 };

describe('Groq stream usage', () => {
  describe.each([
    ['chat-stream.sse (usage in x_groq)', 'chat-stream.sse', 'llama-3.3-70b-versatile', { prompt_tokens: 38, completion_tokens: 9 }],
    ['chat-stream-usage.sse (top-level usage)', 'chat-stream-usage.sse', 'openai/gpt-oss-120b', { prompt_tokens: 2210, prompt_tokens_details: { cached_tokens: 2048 } }],
  ])('%s', (_label, file, model, expectedUsage) => {
    const whole = groqFixture(file);
    const expected = meter([whole]);

    it('reads the model and the usage block', () => {
      expect(expected.model).toBe(model);
      expect(expected.usage?.flavor).toBe('default');
      expect(expected.usage?.doc).toMatchObject({ model, usage: expectedUsage });
      expect(expected.failure).toBeUndefined();
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

  it('prices both recordings with genai-prices’ Groq extractor, cached tokens at the cache rate', () => {
    expect(nanosOf(meter([groqFixture('chat-stream.sse')]))).toBe(38 * 590 + 9 * 790);
    expect(nanosOf(meter([groqFixture('chat-stream-usage.sse')]))).toBe(162 * 150 + 2048 * 75 + 23 * 600);
  });

  it('takes the top-level block when both are sent, without counting the usage twice', () => {
    const both = sse([FIRST, { ...FIRST, choices: [], usage: USAGE, x_groq: { id: 'req_1', usage: USAGE } }]);

    expect(meter([both]).usage?.doc).toEqual({ model: 'llama-3.3-70b-versatile', usage: USAGE });
  });

  it.each([
    ['an error object (groq-sdk throws on it)', { error: { message: 'Internal server error', type: 'internal_server_error' } }, 'Internal server error'],
    ['x_groq.error (a stream stopped early)', { ...FIRST, choices: [], x_groq: { id: 'req_1', error: 'stream interrupted: capacity exceeded' } }, 'stream interrupted: capacity exceeded'],
  ])('reports %s as a failure', (_label, chunk, failure) => {
    expect(meter([sse([FIRST, chunk])])).toMatchObject({ model: 'llama-3.3-70b-versatile', failure });
  });

  it('reports the model but no usage for a stream that ends before its usage chunk', () => {
    expect(meter([sse([FIRST])])).toEqual({ model: 'llama-3.3-70b-versatile' });
  });
});
