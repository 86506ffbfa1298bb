import { connect as connectHttp2, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { connect } from 'node:net';
import { GatewayError } from '../../lambda/core/errors';
import { FORMATS } from '../../lambda/providers';
import { within } from '../support/gate';
import { startHarness, type Harness } from '../support/harness';

/**
 * A client that sends its request body slowly, or stops half-way, must not hold a connection (and
 * a request slot) for ever: past `config.server.bodyIdleTimeoutMs` of silence, or
 * `bodyTimeoutMs` in all, it gets a 408 in its API's error shape and the connection (HTTP/1) or
 * stream (HTTP/2) is closed. Short timeouts here; the defaults are 30 s and 120 s.
 */

const CHAT = '/proxy/openai/chat/completions';
const BODY_TIMEOUT_MS = 1_500;
const IDLE_TIMEOUT_MS = 300;
/** Long past both timeouts: a gateway without them never answers at all. */
const GIVE_UP_MS = 5_000;

interface RawExchange {
  readonly response: string;
  readonly closed: boolean;
}

/** Sends `head` and the first body bytes, then one more byte every `trickleMs` (if given), until the server closes. */
function slowClient(port: number, head: string, trickleMs?: number): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let response = '';
    let trickle: NodeJS.Timeout | undefined;
    const finish = (closed: boolean): void => {
      clearTimeout(timer);
      clearInterval(trickle);
      socket.destroy();
      resolve({ response, closed });
    };
    const timer = setTimeout(() => finish(false), GIVE_UP_MS);
    socket.once('connect', () => {
      socket.write(`${head}{"model"`);
      if (trickleMs !== undefined) trickle = setInterval(() => socket.write(' '), trickleMs);
    });
    socket.on('data', (chunk: Buffer) => (response += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.once('close', () => finish(true));
  });
}

/** The JSON body of a raw HTTP/1.1 response. */
function jsonBody(response: string): unknown {
  return JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4));
}

interface StreamExchange {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly rstCode: number | undefined;
}

/** The HTTP/2 twin of `slowClient`: a stream whose body starts, then stalls or trickles. */
function slowStream(session: ClientHttp2Session, key: string, trickleMs?: number): Promise<StreamExchange> {
  return new Promise((resolve) => {
    const stream = session.request({ ':method': 'POST', ':path': CHAT, authorization: `Bearer ${key}`, 'content-type': 'application/json' });
    let headers: IncomingHttpHeaders = {};
    let body = '';
    let trickle: NodeJS.Timeout | undefined;
    const finish = (rstCode: number | undefined): void => {
      clearTimeout(timer);
      clearInterval(trickle);
      resolve({ headers, body, rstCode });
      stream.destroy();
    };
    const timer = setTimeout(() => finish(undefined), GIVE_UP_MS);
    stream.write('{"model"');
    if (trickleMs !== undefined) trickle = setInterval(() => !stream.closed && stream.write(' '), trickleMs);
    stream.on('response', (h) => (headers = h));
    stream.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    stream.on('error', () => {});
    stream.once('close', () => finish(stream.rstCode));
  });
}

describe('request body timeouts', () => {
  let harness: Harness;
  let key: string;
  let port: number;

  beforeEach(async () => {
    harness = await startHarness({
      config: (baseUrl) => ({ providers: { openai: { baseUrl } }, server: { bodyTimeoutMs: BODY_TIMEOUT_MS, bodyIdleTimeoutMs: IDLE_TIMEOUT_MS } }),
    });
    key = (await harness.issue()).key;
    port = Number(new URL(harness.gateway.url).port);
  });
  afterEach(async () => {
    await harness.close();
  });

  const head = (length: number): string =>
    `POST ${CHAT} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`;

  describe('over HTTP/1.1', () => {
    it('answers a body that stops half-way with a 408 in the API shape, then closes the connection', async () => {
      // WHEN a client announces 1000 bytes, sends 8, and falls silent
      const { response, closed } = await slowClient(port, head(1000));

      // THEN past the idle timeout it gets a 408 saying why, and the gateway closes the connection
      expect(response).toMatch(/^HTTP\/1\.1 408 /);
      expect(response.toLowerCase()).toContain('connection: close');
      expect(jsonBody(response)).toMatchObject({ error: { type: 'invalid_request_error', code: 'request_timeout', message: expect.stringMatching(/stalled/) } });
      expect(closed).toBe(true);
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it('cuts a body that trickles in, never silent for long, once the whole-body timeout has passed', async () => {
      // WHEN a client sends a byte every 50 ms of a body it says is 100 kB
      const startedAt = Date.now();
      const { response, closed } = await slowClient(port, head(100_000), 50);

      // THEN it is answered 408 once the whole-body timeout is up, and disconnected
      expect(response).toMatch(/^HTTP\/1\.1 408 /);
      expect(jsonBody(response)).toMatchObject({ error: { code: 'request_timeout', message: expect.stringMatching(/did not arrive within/) } });
      expect(closed).toBe(true);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(BODY_TIMEOUT_MS - 50);
    });

    it('serves a body that arrives in pieces, each within the idle timeout', async () => {
      // WHEN a valid body arrives in four pieces, 50 ms apart (the idle timeout is 300 ms)
      const body = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] });
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => {});
      let response = '';
      socket.on('data', (chunk: Buffer) => (response += chunk.toString('latin1')));
      socket.write(head(Buffer.byteLength(body)));
      const quarter = Math.ceil(body.length / 4);
      for (let i = 0; i < 4; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        socket.write(body.slice(i * quarter, (i + 1) * quarter));
      }
      await within(
        (async () => {
          while (!response.includes('"chat.completion"')) await new Promise((resolve) => setTimeout(resolve, 10));
        })(),
        GIVE_UP_MS,
        'no completion',
      );
      socket.destroy();

      // THEN it is answered normally, and the connection is kept alive
      expect(response).toMatch(/^HTTP\/1\.1 200 /);
      expect(response.toLowerCase()).not.toContain('connection: close');
    });
  });

  describe('over HTTP/2', () => {
    let session: ClientHttp2Session;
    beforeEach(() => {
      session = connectHttp2(harness.gateway.url);
    });
    afterEach(() => {
      session.destroy();
    });

    it('answers a stream whose body stalls with a 408, resets the stream, and keeps the session', async () => {
      // WHEN a stream's body starts and then stops
      const result = await slowStream(session, key);

      // THEN it gets the 408, then RST_STREAM(NO_ERROR)
      expect(result.headers[':status']).toBe(408);
      expect(JSON.parse(result.body)).toMatchObject({ error: { code: 'request_timeout', message: expect.stringMatching(/stalled/) } });
      expect(result.rstCode).toBe(0);
      // AND the session still serves a request
      const ok = await new Promise<number>((resolve) => {
        const stream = session.request({ ':path': '/' });
        stream.on('response', (h) => resolve(Number(h[':status'])));
        stream.resume();
        stream.end();
      });
      expect(ok).toBe(200);
    });

    it('cuts a stream whose body trickles in once the whole-body timeout has passed', async () => {
      const result = await slowStream(session, key, 50);

      expect(result.headers[':status']).toBe(408);
      expect(JSON.parse(result.body)).toMatchObject({ error: { code: 'request_timeout', message: expect.stringMatching(/did not arrive within/) } });
      expect(result.rstCode).toBe(0);
    });
  });
});

describe('a request timeout in each API error shape', () => {
  const error = new GatewayError('request_timeout', 'The request body stalled.');

  it.each([
    ['openai', { error: { type: 'invalid_request_error', code: 'request_timeout' } }],
    ['groq', { error: { type: 'invalid_request_error', code: 'request_timeout' } }],
    ['anthropic', { type: 'error', error: { type: 'invalid_request_error' } }],
    ['gemini', { error: { code: 408, status: 'DEADLINE_EXCEEDED' } }],
    ['bedrock', { __type: 'ValidationException' }],
  ] as const)('%s', (format, shape) => {
    expect(error.status).toBe(408);
    expect(JSON.parse(FORMATS[format].renderError(error).body)).toMatchObject(shape);
  });
});
