import { request } from 'node:http';
import type { ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { openaiFormat } from '../../lambda/formats/openai';
import { fixture } from '../support/fake-openai';
import { vertexFixture } from '../support/fake-google';
import { recordingLogger, type Logged } from '../support/recording-logger';
import { startHarness, type Harness } from '../support/harness';
import { startVertexHarness } from '../support/vertex-harness';

const MIB = 1024 * 1024;
const CHAT = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] });
const CHAT_STREAM = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }], stream: true, stream_options: { include_usage: true } });
/** Small enough that each test's oversized response stays cheap to build and send. */
const SMALL_CAPS = { maxBufferedBytes: 64 * 1024, maxDecodedBytes: 256 * 1024 };

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** node:http rather than fetch: fetch would inflate the body, and these tests compare the compressed bytes. */
function post(url: string, key: string, body: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'accept-encoding': 'gzip' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Many gzip members, each the same block: a body of `total` inflated bytes that costs little to build. */
function gzipBomb(block: Buffer, total: number, head = Buffer.alloc(0)): Buffer {
  const member = gzipSync(block, { level: 9 });
  return Buffer.concat([gzipSync(head), ...Array<Buffer>(Math.ceil(total / block.length)).fill(member)]);
}

/** A chat completion document of about `size` bytes, its usage intact: metering could price it if it read it. */
function largeChatDocument(size: number): Buffer {
  const recorded = JSON.parse(fixture('chat.json').toString('utf8')) as { choices: { message: { content: string } }[] };
  const message = recorded.choices[0]?.message;
  if (message) message.content = 'x'.repeat(size);
  return Buffer.from(JSON.stringify(recorded));
}

function respondWith(status: number, headers: Record<string, string>, body: Buffer): (res: ServerResponse) => void {
  return (res) => {
    res.writeHead(status, headers);
    res.end(body);
  };
}

describe('metering within its limits', () => {
  let harness: Harness;
  let key: string;
  let logged: Logged[];

  async function start(metering?: typeof SMALL_CAPS): Promise<void> {
    const logger = recordingLogger();
    logged = logger.lines;
    harness = await startHarness({ config: (baseUrl) => ({ providers: { openai: { baseUrl } }, ...(metering && { metering }) }), logger });
    key = (await harness.issue()).key;
  }

  afterEach(async () => {
    jest.restoreAllMocks();
    await harness.close();
  });

  function chat(body = CHAT): Promise<RawResponse> {
    return post(`${harness.gateway.url}/proxy/openai/chat/completions`, key, body);
  }

  /** The one settled request's charge, once it landed in the store: its estimate, as metering gave up. */
  async function expectChargedItsReservation(reason: string): Promise<void> {
    const counters = await harness.waitForSpend((c) => c.length === 12);
    const settled = logged.filter((line) => line.event === 'request_settled');
    expect(settled).toHaveLength(1);
    const fields = settled[0]?.fields ?? {};
    expect(fields).toMatchObject({ basis: 'metering-gave-up', status: 200, priced: false });
    expect(fields['estimate_nanos']).toBeGreaterThan(0);
    expect(fields['nanos']).toBe(fields['estimate_nanos']);
    expect(counters.every((c) => c.nanos === fields['nanos'] && c.requests === 1)).toBe(true);
    const gaveUp = logged.filter((line) => line.event === 'metering_gave_up');
    expect(gaveUp).toEqual([{ level: 'error', event: 'metering_gave_up', fields: expect.objectContaining({ route: 'openai', provider: 'openai', status: 200, reason }) }]);
  }

  /** The gateway still serves, and meters, an ordinary request afterwards. */
  async function expectStillServing(): Promise<void> {
    harness.upstream.behaviour = {};
    const next = await chat();
    expect(next.status).toBe(200);
    expect(next.body.equals(fixture('chat.json'))).toBe(true);
    expect(next.headers['x-tollgate-cost-usd']).toMatch(/^\d+\.\d+$/);
  }

  describe('a JSON document', () => {
    it('inflating past the cap passes through as the upstream sent it, charged its reservation', async () => {
      // GIVEN an upstream whose gzip document inflates to 8 MiB, usage and all, past a 64 KiB cap
      await start(SMALL_CAPS);
      const compressed = gzipSync(largeChatDocument(8 * MIB));
      harness.upstream.behaviour.raw = respondWith(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': String(compressed.length) }, compressed);

      // WHEN
      const response = await chat();

      // THEN the client has the upstream's exact bytes, with no cost header: metering never read the usage
      expect(response.status).toBe(200);
      expect(response.headers['content-encoding']).toBe('gzip');
      expect(response.body.equals(compressed)).toBe(true);
      expect(response.headers['x-tollgate-cost-usd']).toBeUndefined();
      await expectChargedItsReservation('decoded-limit');
      await expectStillServing();
    });

    it.each([
      ['announced by Content-Length', true],
      ['of unannounced length (chunked)', false],
    ])('larger than the cap, %s, streams through untouched, charged its reservation', async (_name, announced) => {
      // GIVEN an uncompressed 1 MiB document, past a 64 KiB cap, written in pieces
      await start(SMALL_CAPS);
      const document = largeChatDocument(MIB);
      harness.upstream.behaviour.raw = async (res) => {
        res.writeHead(200, { 'content-type': 'application/json', ...(announced && { 'content-length': String(document.length) }) });
        for (let at = 0; at < document.length; at += 16 * 1024) await new Promise((resolve) => res.write(document.subarray(at, at + 16 * 1024), resolve));
        res.end();
      };

      // WHEN
      const response = await chat();

      // THEN
      expect(response.status).toBe(200);
      expect(response.body.equals(document)).toBe(true);
      expect(response.headers['x-tollgate-cost-usd']).toBeUndefined();
      await expectChargedItsReservation('buffered-limit');
      await expectStillServing();
    });

    it('that is a 2 MiB gzip bomb inflating to 2 GiB costs little memory under the default caps', async () => {
      // GIVEN the default caps (16 MiB buffered) and an upstream sending ~2 MiB of gzip that inflates to 2 GiB
      await start();
      const bomb = gzipBomb(Buffer.alloc(16 * MIB, ' '), 2048 * MIB, Buffer.from('{"id":"chatcmpl-bomb","usage":'));
      expect(bomb.length).toBeLessThan(4 * MIB);
      harness.upstream.behaviour.raw = respondWith(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': String(bomb.length) }, bomb);
      const before = process.memoryUsage.rss();
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);

      // WHEN
      const response = await chat().finally(() => clearInterval(sampler));

      // THEN the gateway passed the bomb on as it came, never inflating more than a bounded piece of it
      expect(response.status).toBe(200);
      expect(response.body.equals(bomb)).toBe(true);
      expect(peak - before).toBeLessThan(256 * MIB);
      await expectChargedItsReservation('decoded-limit');
      await expectStillServing();
    });
  });

  describe('an SSE stream', () => {
    function sseHeaders(): Record<string, string> {
      return { 'content-type': 'text/event-stream; charset=utf-8', 'content-encoding': 'gzip' };
    }

    it('whose gzip inflates to a line longer than the cap passes through, charged its reservation', async () => {
      // GIVEN a gzip stream whose first line (no newline in it) inflates to 1 MiB, past a 64 KiB cap
      await start(SMALL_CAPS);
      const compressed = gzipSync(Buffer.from(`data: {"usage":"${'x'.repeat(MIB)}`));
      harness.upstream.behaviour.raw = respondWith(200, sseHeaders(), compressed);

      // WHEN
      const response = await chat(CHAT_STREAM);

      // THEN
      expect(response.status).toBe(200);
      expect(response.body.equals(compressed)).toBe(true);
      await expectChargedItsReservation('buffered-limit');
      await expectStillServing();
    });

    it('inflating past the decoded cap, line by line, stops inflating and is charged its reservation', async () => {
      // GIVEN short events, each under the buffered cap, that inflate to 4 MiB in all: past a 256 KiB decoded cap
      await start(SMALL_CAPS);
      const compressed = gzipBomb(Buffer.from(': keep-alive\n\n'.repeat(64 * 1024)), 4 * MIB);
      harness.upstream.behaviour.raw = respondWith(200, sseHeaders(), compressed);

      // WHEN
      const response = await chat(CHAT_STREAM);

      // THEN
      expect(response.body.equals(compressed)).toBe(true);
      await expectChargedItsReservation('decoded-limit');
    });

    it('of 600 MiB without a newline, as gzip, neither crashes the process nor grows its memory under the default caps', async () => {
      // GIVEN the default caps (16 MiB buffered, 128 MiB decoded) and a gzip stream that inflates to one 600 MiB line
      await start();
      const bomb = gzipBomb(Buffer.alloc(16 * MIB, 'x'), 600 * MIB, Buffer.from('data: '));
      harness.upstream.behaviour.raw = respondWith(200, sseHeaders(), bomb);
      const before = process.memoryUsage.rss();
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);

      // WHEN
      const response = await chat(CHAT_STREAM).finally(() => clearInterval(sampler));

      // THEN
      expect(response.status).toBe(200);
      expect(response.body.equals(bomb)).toBe(true);
      expect(peak - before).toBeLessThan(256 * MIB);
      await expectChargedItsReservation('buffered-limit');
      await expectStillServing();
    });
  });

  describe('a usage reader that throws', () => {
    it.each([
      ['plain', false],
      ['gzip', true],
    ])('is contained to its request (%s stream): the bytes pass unchanged, the request is charged its reservation', async (_name, gzip) => {
      // GIVEN the recorded stream, and a usage reader that throws on the first message
      await start();
      harness.upstream.behaviour.gzip = gzip;
      jest.spyOn(openaiFormat, 'streamReader').mockReturnValueOnce({
        onMessage() {
          throw new TypeError('reader bug');
        },
        result: () => ({}),
      });

      // WHEN
      const response = await chat(CHAT_STREAM);

      // THEN the client has the whole stream, as the upstream sent it
      expect(response.status).toBe(200);
      const recorded = fixture('chat-stream.sse');
      expect(response.body.equals(gzip ? gzipSync(recorded) : recorded)).toBe(true);
      await expectChargedItsReservation('parser-error');
      expect(logged.find((line) => line.event === 'metering_gave_up')?.fields).toMatchObject({ error: 'TypeError' });
      await expectStillServing();
    });

    it('is contained for a document too: the body passes unchanged, the request is charged its reservation', async () => {
      // GIVEN a document usage reader that throws
      await start();
      jest.spyOn(openaiFormat, 'usageFromBody').mockImplementationOnce(() => {
        throw new TypeError('reader bug');
      });

      // WHEN
      const response = await chat();

      // THEN
      expect(response.status).toBe(200);
      expect(response.body.equals(fixture('chat.json'))).toBe(true);
      expect(response.headers['x-tollgate-cost-usd']).toBeUndefined();
      await expectChargedItsReservation('parser-error');
    });
  });
});

describe('a streamed JSON array (Vertex streamGenerateContent) with an element past the cap', () => {
  it('passes through byte for byte and is charged its reservation, under the default caps', async () => {
    // GIVEN the recorded stream, its last element (the one with the usage) padded to 17 MiB: past the 16 MiB default
    const logger = recordingLogger();
    const logged = logger.lines;
    const vertex = await startVertexHarness({ logger });
    try {
      const elements = JSON.parse(vertexFixture('stream.json').toString('utf8')) as { candidates: { content: { parts: { text: string }[] } }[] }[];
      const last = elements[elements.length - 1]?.candidates[0]?.content.parts[0];
      if (last) last.text = 'x'.repeat(17 * MIB);
      const body = Buffer.from(`[${elements.map((element) => JSON.stringify(element)).join(',\r\n')}]`);
      vertex.google.arrayStreamChunks = Array.from({ length: Math.ceil(body.length / (64 * 1024)) }, (_, i) => body.subarray(i * 64 * 1024, (i + 1) * 64 * 1024));

      // WHEN
      const response = await fetch(`${vertex.harness.gateway.url}/proxy/google-vertex/v1/publishers/google/models/gemini-2.5-pro:streamGenerateContent`, {
        method: 'POST',
        headers: { 'x-goog-api-key': vertex.key, 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] }),
      });

      // THEN
      expect(response.status).toBe(200);
      expect(Buffer.from(await response.arrayBuffer()).equals(body)).toBe(true);
      const counters = await vertex.harness.waitForSpend((c) => c.length === 12);
      const settled = logged.find((line) => line.event === 'request_settled')?.fields ?? {};
      expect(settled).toMatchObject({ basis: 'metering-gave-up', status: 200 });
      expect(settled['estimate_nanos']).toBeGreaterThan(0);
      expect(counters.every((c) => c.nanos === settled['estimate_nanos'])).toBe(true);
      expect(logged.filter((line) => line.event === 'metering_gave_up').map((line) => line.fields)).toEqual([
        expect.objectContaining({ route: 'google-vertex', provider: 'google-vertex', reason: 'buffered-limit' }),
      ]);
    } finally {
      await vertex.close();
    }
  });
});
