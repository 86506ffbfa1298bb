import { Agent, request as httpRequest } from 'node:http';
import { connect as connectHttp2, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { connect } from 'node:net';
import { within } from '../support/gate';
import { startHarness, type Harness } from '../support/harness';

/**
 * A response that goes out before its request body was read — refused before the body (no key),
 * or a body over the limit — must stop the gateway reading that body. Otherwise a client can
 * announce 100 GB and the gateway reads it all to keep the connection alive, at the expense of
 * everyone else on the machine.
 */

const CHAT = '/proxy/openai/chat/completions';
/** What the client may get written before the gateway stops reading: socket buffers, not the body. */
const BOUND = 16 * 1024 * 1024;
/** The gateway's request body limit (createGateway's default). */
const LIMIT = 32 * 1024 * 1024;
/** Long enough for the fixed gateway to act many times over; the old one never closes at all. */
const GIVE_UP_MS = 5_000;

interface Flood {
  /** What the server sent back, as text. */
  readonly response: string;
  /** Body bytes the client's kernel accepted. */
  readonly written: number;
  /** The server closed the connection, rather than the client giving up. */
  readonly closed: boolean;
}

/**
 * Sends `head`, then body bytes as fast as the server takes them (chunked if asked), until the
 * server closes the connection or `GIVE_UP_MS` pass.
 */
function flood(port: number, head: string, chunked = false): Promise<Flood> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const piece = Buffer.alloc(64 * 1024, 'a');
    const frame = chunked ? Buffer.concat([Buffer.from(`${piece.byteLength.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece;
    let response = '';
    let written = 0;
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ response, written, closed });
    };
    const timer = setTimeout(() => finish(false), GIVE_UP_MS);
    const pump = (): void => {
      while (!done && !socket.destroyed) {
        const ok = socket.write(frame, (error) => {
          if (!error) written += piece.byteLength;
        });
        if (!ok) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    socket.once('connect', () => {
      socket.write(head);
      pump();
    });
    socket.on('data', (chunk: Buffer) => (response += chunk.toString('latin1')));
    // The server's reset reaches a client still writing as EPIPE or ECONNRESET: that is the close.
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
  });
}

interface Served {
  readonly status: number;
  readonly reused: boolean;
}

/** A well-behaved client on one keep-alive connection: a chat completion, its body read whole. */
function chat(agent: Agent, origin: string, key: string): Promise<Served> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] });
    const req = httpRequest(`${origin}${CHAT}`, { method: 'POST', agent, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('a body the gateway will not read, over HTTP/1.1', () => {
  let harness: Harness;
  let key: string;
  let port: number;
  let agent: Agent;

  beforeEach(async () => {
    harness = await startHarness();
    key = (await harness.issue()).key;
    port = Number(new URL(harness.gateway.url).port);
    agent = new Agent({ keepAlive: true, maxSockets: 1 });
  });
  afterEach(async () => {
    agent.destroy();
    await harness.close();
  });

  it('closes the connection after a 401 to a request announcing 100 GB, while a keep-alive client is served on its reused connection', async () => {
    // GIVEN a well-behaved client with a keep-alive connection already open
    expect(await chat(agent, harness.gateway.url, key)).toEqual({ status: 200, reused: false });

    // WHEN four clients without a key announce 100 GB bodies and keep writing, while the
    // well-behaved client keeps making requests
    const head = `POST ${CHAT} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000000000\r\n\r\n`;
    const floods = Promise.all(Array.from({ length: 4 }, () => flood(port, head)));
    const served: Served[] = [];
    for (let i = 0; i < 5; i++) served.push(await chat(agent, harness.gateway.url, key));

    // THEN each flooding client got its 401 with `connection: close`, and the gateway closed its
    // connection before it could write more than socket buffers hold
    for (const result of await floods) {
      expect(result.response).toMatch(/^HTTP\/1\.1 401 /);
      expect(result.response.toLowerCase()).toContain('connection: close');
      expect(result.closed).toBe(true);
      expect(result.written).toBeLessThan(BOUND);
    }
    // AND the well-behaved client was served every time on the connection it already had
    expect(served).toEqual(Array.from({ length: 5 }, () => ({ status: 200, reused: true })));
  });

  it('closes the connection after a 413 to a chunked body that never ends', async () => {
    // WHEN a client with a key sends a chunked body, with no length to refuse it on, and keeps writing
    const head = `POST ${CHAT} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n`;
    const result = await flood(port, head, true);

    // THEN it gets the 413, and the connection is closed once the limit was read, not drained
    expect(result.response).toMatch(/^HTTP\/1\.1 413 /);
    expect(result.response.toLowerCase()).toContain('connection: close');
    expect(result.closed).toBe(true);
    expect(result.written).toBeLessThan(LIMIT + BOUND);
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('lets a client still busy sending read its 401 before the connection goes: a half-close, not a reset, reading nothing more', async () => {
    // GIVEN a client that announces a large body, keeps sending it even after the gateway closes
    // its side (half-open), and reads nothing for a while
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', () => {});
    let written = 0;
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.pause();
    socket.write(`POST ${CHAT} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000000000\r\n\r\n`);
    const piece = Buffer.alloc(64 * 1024, 'a');
    const pump = (): void => {
      while (!socket.destroyed && socket.write(piece, (error) => !error && (written += piece.byteLength)));
      if (!socket.destroyed) socket.once('drain', pump);
    };
    pump();

    // WHEN it starts reading only after the gateway has answered and closed its side
    await new Promise((resolve) => setTimeout(resolve, 500));
    let response = '';
    socket.on('data', (chunk: Buffer) => (response += chunk.toString('latin1')));
    socket.resume();
    await within(closed, GIVE_UP_MS, 'the gateway kept the connection open');

    // THEN the answer was still there to read, whole (a reset would have thrown it away), and
    // while it waited the gateway read no more than socket buffers hold
    expect(response).toMatch(/^HTTP\/1\.1 401 /);
    expect(response).toContain('"code":"missing_api_key"');
    expect(written).toBeLessThan(BOUND);
  });

  it('answers `Expect: 100-continue` with the 401, never asking for the body', async () => {
    // WHEN a client without a key asks before sending a 100 GB body, as curl does for large bodies
    const socket = connect(port, '127.0.0.1');
    socket.write(`POST ${CHAT} HTTP/1.1\r\nhost: x\r\ncontent-length: 100000000000\r\nexpect: 100-continue\r\n\r\n`);
    let response = '';
    socket.on('data', (chunk: Buffer) => (response += chunk.toString('latin1')));
    await within(new Promise((resolve) => socket.once('close', resolve)), GIVE_UP_MS, 'the gateway kept the connection open');

    // THEN the first thing it hears is the 401, and the connection is closed after it
    expect(response).toMatch(/^HTTP\/1\.1 401 /);
    expect(response).not.toContain('100 Continue');
  });

  // What node:http did for every such request before; it must still happen when the body is wanted.
  it('still asks for the body of an authorized `Expect: 100-continue` request, and serves it', async () => {
    // WHEN a client with a key asks before sending its body
    const body = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] });
    const socket = connect(port, '127.0.0.1');
    socket.write(
      `POST ${CHAT} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nexpect: 100-continue\r\n\r\n`,
    );
    let response = '';
    const continued = new Promise<void>((resolve) =>
      socket.on('data', (chunk: Buffer) => {
        response += chunk.toString('latin1');
        if (response.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) resolve();
      }),
    );
    await within(continued, GIVE_UP_MS, 'the gateway never asked for the body');
    socket.write(body);
    await within(
      new Promise<void>((resolve) => socket.on('data', () => response.includes('"chat.completion"') && resolve())),
      GIVE_UP_MS,
      'no completion',
    );
    socket.destroy();

    // THEN it was asked for the body, and then answered
    expect(response).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
  });
});

interface StreamFlood {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly written: number;
  /** The RST_STREAM code the stream closed with, or undefined if it never closed. */
  readonly rstCode: number | undefined;
}

/** Opens a stream and writes its body as fast as the server lets it, until the stream closes or `GIVE_UP_MS` pass. */
function floodStream(session: ClientHttp2Session, headers: Record<string, string>): Promise<StreamFlood> {
  return new Promise((resolve) => {
    const stream = session.request({ ':method': 'POST', ':path': CHAT, 'content-type': 'application/json', ...headers });
    const piece = Buffer.alloc(64 * 1024, 'a');
    let responseHeaders: IncomingHttpHeaders = {};
    let body = '';
    let written = 0;
    let done = false;
    const finish = (rstCode: number | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ headers: responseHeaders, body, written, rstCode });
      stream.destroy();
    };
    const timer = setTimeout(() => finish(undefined), GIVE_UP_MS);
    const pump = (): void => {
      while (!done && !stream.closed) {
        const ok = stream.write(piece, (error) => {
          if (!error) written += piece.byteLength;
        });
        if (!ok) {
          stream.once('drain', pump);
          return;
        }
      }
    };
    stream.on('response', (h) => (responseHeaders = h));
    stream.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    stream.on('error', () => {});
    stream.on('close', () => finish(stream.rstCode));
    pump();
  });
}

/** A well-behaved chat completion on the same session. */
function chatOn(session: ClientHttp2Session, key: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': CHAT, authorization: `Bearer ${key}`, 'content-type': 'application/json' });
    let status = 0;
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.resume();
    stream.on('end', () => resolve(status));
    stream.on('error', reject);
    stream.end(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }));
  });
}

describe('a body the gateway will not read, over HTTP/2', () => {
  let harness: Harness;
  let key: string;
  let session: ClientHttp2Session;

  beforeEach(async () => {
    harness = await startHarness();
    key = (await harness.issue()).key;
    session = connectHttp2(harness.gateway.url);
  });
  afterEach(async () => {
    session.destroy();
    await harness.close();
  });

  // node:http2 resets a stream nobody began to read by itself; this guards that the body wrapper
  // starts reading only when the core asks, so that it still does.
  it('resets the stream with NO_ERROR after the 401, and the connection serves the next request', async () => {
    // WHEN a stream without a key keeps sending its body
    const result = await floodStream(session, {});

    // THEN it gets its whole 401, then RST_STREAM(NO_ERROR) stops it: it wrote no more than flow control allows
    expect(result.headers[':status']).toBe(401);
    expect(JSON.parse(result.body)).toMatchObject({ error: { code: 'missing_api_key' } });
    expect(result.rstCode).toBe(0);
    expect(result.written).toBeLessThan(BOUND);
    // AND the session is still good for a well-behaved request
    expect(await chatOn(session, key)).toBe(200);
  });

  it('resets the stream with NO_ERROR after the 413, without draining the rest of the body', async () => {
    // WHEN a stream with a key sends a body past the limit, and keeps sending
    const result = await floodStream(session, { authorization: `Bearer ${key}` });

    // THEN it gets its 413, and the stream is stopped near the limit
    expect(result.headers[':status']).toBe(413);
    expect(JSON.parse(result.body)).toMatchObject({ error: { code: 'body_too_large' } });
    expect(result.rstCode).toBe(0);
    expect(result.written).toBeLessThan(LIMIT + BOUND);
    expect(await chatOn(session, key)).toBe(200);
  });
});
