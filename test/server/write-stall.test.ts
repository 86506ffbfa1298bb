import { calcPrice } from '@pydantic/genai-prices';
import { connect } from 'node:net';
import { usdToNanos } from '../../lambda/pricing/money';
import { fixture } from '../support/fake-openai';
import { startHarness, type Harness } from '../support/harness';
import { recordingLogger } from '../support/recording-logger';

/** About 8 MiB of content deltas: more than the socket buffers between the gateway and a client hold. */
const PADDING = `data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":"${'x'.repeat(4096)}"}}]}\n\n`;
const STREAM_NANOS = usdToNanos(calcPrice({ input_tokens: 1117, cache_read_tokens: 1024, output_tokens: 9 }, 'gpt-4o-2024-08-06', { providerId: 'openai' })!.total_price);

describe('a client that stops reading its response', () => {
  let harness: Harness;
  const logger = recordingLogger();

  beforeAll(async () => {
    harness = await startHarness({ config: (baseUrl) => ({ providers: { openai: { baseUrl } }, server: { writeStallTimeoutMs: 300 } }), logger });
  });
  afterAll(async () => {
    await harness.close();
  });

  it('is cut off after the stall timeout, and its stream is read to the end and settled at its usage', async () => {
    // GIVEN an upstream that streams 8 MiB before its usage chunk, all of it at once
    harness.upstream.behaviour.raw = async (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < 2_000; i++) res.write(PADDING);
      res.end(fixture('chat-stream.sse'));
    };
    const { key, record } = await harness.issue();
    const body = JSON.stringify({ model: 'gpt-4o', stream: true, max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] });

    // WHEN a client sends the request, reads the response head, and then reads nothing more
    const { hostname, port } = new URL(harness.gateway.url);
    const socket = connect(Number(port), hostname);
    socket.write(
      `POST /proxy/openai/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.pause();
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});

    // THEN the gateway cuts it, reads the upstream to its end anyway, and charges what the stream used
    try {
      const counters = await harness.waitForSpend((c) => c.some((x) => x.scope.id === record.id && x.requests === 1 && x.reservedNanos === 0));
      expect(counters.find((c) => c.scope.id === record.id && c.period === 'lifetime')?.nanos).toBe(STREAM_NANOS);
      expect(logger.lines.find((line) => line.event === 'request_settled')?.fields).toMatchObject({ outcome: 'client-gone', basis: 'usage' });
      socket.resume();
      await closed;
    } finally {
      socket.destroy();
    }
  });
});
