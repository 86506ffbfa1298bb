import { connect as connectHttp2, type ClientHttp2Session } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { within } from '../support/gate';
import { startHarness, type Harness } from '../support/harness';
import { recordingLogger } from '../support/recording-logger';

/**
 * Each open connection holds a file descriptor: without a ceiling, a client opening thousands of
 * idle sockets takes them all, and the gateway can neither accept nor call its providers. Past
 * `config.server.maxConnections` a new connection is closed as soon as it is accepted; the ones
 * open keep being served, and the ceiling frees as they close. A small cap here; the default is 1024.
 */

const MAX_CONNECTIONS = 3;

describe('the connection ceiling', () => {
  let harness: Harness;
  let port: number;
  let logger: ReturnType<typeof recordingLogger>;
  const opened: Socket[] = [];
  const sessions: ClientHttp2Session[] = [];

  beforeEach(async () => {
    logger = recordingLogger();
    harness = await startHarness({ logger, config: (baseUrl) => ({ providers: { openai: { baseUrl } }, server: { maxConnections: MAX_CONNECTIONS } }) });
    port = Number(new URL(harness.gateway.url).port);
  });
  afterEach(async () => {
    for (const socket of opened.splice(0)) socket.destroy();
    for (const session of sessions.splice(0)) session.destroy();
    await harness.close();
  });

  /** A bare TCP connection; `closed` resolves once the server has closed it. */
  function rawConnection(): { socket: Socket; closed: Promise<void> } {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    opened.push(socket);
    return { socket, closed: new Promise((resolve) => socket.once('close', () => resolve())) };
  }

  /** Resolves once the server counts `n` open connections: accepted, not merely queued in the kernel. */
  async function serverHolds(n: number): Promise<void> {
    const count = () => new Promise<number>((resolve, reject) => harness.gateway.server.getConnections((error, value) => (error ? reject(error) : resolve(value))));
    while ((await count()) !== n) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  /** One HTTP/1.1 GET of the health check, written by hand on `socket`; resolves with the status line. */
  function healthOver(socket: Socket): Promise<string> {
    return new Promise((resolve) => {
      socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1').split('\r\n')[0] ?? ''));
      socket.write('GET / HTTP/1.1\r\nHost: gateway\r\n\r\n');
    });
  }

  function http2Health(session: ClientHttp2Session): Promise<number> {
    return new Promise((resolve, reject) => {
      const stream = session.request({ ':method': 'GET', ':path': '/' });
      stream.on('response', (headers) => resolve(Number(headers[':status'])));
      stream.on('error', reject);
      stream.resume();
    });
  }

  it('closes a connection past the ceiling as it is accepted, serves those open, and accepts again once some close', async () => {
    // GIVEN the ceiling taken by two idle HTTP/1 sockets and one HTTP/2 session
    const first = rawConnection();
    const second = rawConnection();
    const session = connectHttp2(`http://127.0.0.1:${port}`);
    session.on('error', () => {});
    sessions.push(session);
    expect(await http2Health(session)).toBe(200);
    await serverHolds(MAX_CONNECTIONS);

    // WHEN one more connects
    const extra = rawConnection();

    // THEN it is closed without a byte, and the refusal is logged
    await within(extra.closed, 5_000, 'the connection past the ceiling was left open');
    expect(extra.socket.bytesRead).toBe(0);
    expect(logger.lines.find((line) => line.event === 'connections_refused')?.fields).toMatchObject({ refused: 1, max_connections: MAX_CONNECTIONS });
    // AND the connections already open are still served, over either protocol
    expect(await healthOver(first.socket)).toBe('HTTP/1.1 200 OK');
    expect(await http2Health(session)).toBe(200);

    // WHEN two of them close
    first.socket.destroy();
    second.socket.destroy();
    await Promise.all([first.closed, second.closed]);
    await serverHolds(MAX_CONNECTIONS - 2);

    // THEN a new client is served
    const response = await fetch(`${harness.gateway.url}/`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', service: 'tollgate' });
  });
});
