import { Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttp2Server, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';

/** What an HTTP/2 client sends first when it knows the server speaks HTTP/2 (RFC 9113 §3.4). */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * An `http.Server` that also speaks HTTP/2 cleartext with prior knowledge on the same port, as
 * the AWS SDK's default request handler does. Each new connection's first bytes decide: the
 * HTTP/2 preface goes to an HTTP/2 session, anything else to node:http exactly as usual. The
 * sniff costs one read per connection, never per request, so keep-alive HTTP/1 traffic runs as
 * before.
 *
 * @example
 * const server = new DualProtocolServer((req, res) => …, (stream, headers) => …);
 * server.listen(8787);
 */
export class DualProtocolServer extends Server {
  private readonly http2 = createHttp2Server();
  private readonly sessions = new Set<Http2Session>();
  /** Connections that have not sent enough to tell their protocol: neither server's to close yet. */
  private readonly sniffing = new Set<Socket>();

  constructor(
    onRequest: (req: IncomingMessage, res: ServerResponse) => void,
    onHttp2Stream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void,
  ) {
    super(onRequest);
    // node:http registers exactly one connection listener, its parser setup; it now runs only for HTTP/1 connections.
    const [serveHttp1, ...others] = this.listeners('connection') as ((socket: Socket) => void)[];
    if (!serveHttp1 || others.length > 0) throw new Error('node:http no longer registers a single connection listener');
    this.removeListener('connection', serveHttp1);
    this.on('connection', (socket: Socket) => {
      this.sniffing.add(socket);
      socket.once('close', () => this.sniffing.delete(socket));
      sniff(socket, (http2) => {
        this.sniffing.delete(socket);
        if (http2) {
          // The HTTP/2 session reads the bytes put back itself; resuming would hand them to no one.
          this.http2.emit('connection', socket);
        } else {
          serveHttp1.call(this, socket);
          // node:http's parser reads the bytes put back through 'data', which the sniff paused.
          socket.resume();
        }
      });
    });
    this.http2.on('session', (session: Http2Session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      // A client that resets its connection is not the server's failure.
      session.on('error', () => {});
    });
    this.http2.on('stream', onHttp2Stream);
  }

  override closeAllConnections(): void {
    super.closeAllConnections();
    for (const session of this.sessions) session.destroy();
    for (const socket of this.sniffing) socket.destroy();
  }

  /**
   * `close()` calls this: HTTP/2 sessions stop taking new streams and end when their open ones do;
   * a connection that has sent nothing yet is idle, and would otherwise hold `close()` for the
   * sniff timeout.
   */
  override closeIdleConnections(): void {
    super.closeIdleConnections();
    for (const session of this.sessions) session.close();
    for (const socket of this.sniffing) socket.destroy();
  }
}

// A connection that sends nothing (or only part of the preface) is not yet any server's to time out.
const SNIFF_TIMEOUT_MS = 30_000;

/** Reads until the bytes either match the whole preface or stop matching it, then puts them back. */
function sniff(socket: Socket, decide: (http2: boolean) => void): void {
  let seen: Buffer | undefined;
  const abandon = () => {
    cleanUp();
    socket.destroy();
  };
  const onData = (chunk: Buffer) => {
    seen = seen ? Buffer.concat([seen, chunk]) : chunk;
    const length = Math.min(seen.byteLength, PREFACE.byteLength);
    const matches = PREFACE.compare(seen, 0, length, 0, length) === 0;
    if (matches && length < PREFACE.byteLength) return;
    cleanUp();
    socket.pause();
    socket.unshift(seen);
    decide(matches);
  };
  const cleanUp = () => {
    socket.setTimeout(0);
    socket.off('timeout', abandon);
    socket.off('data', onData);
    socket.off('end', abandon);
    socket.off('error', abandon);
  };
  socket.setTimeout(SNIFF_TIMEOUT_MS, abandon);
  socket.on('data', onData);
  socket.once('end', abandon);
  socket.once('error', abandon);
}
