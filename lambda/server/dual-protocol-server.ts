import { Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttp2Server, type Http2Server, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { DEFAULT_SERVER_SETTINGS, type ServerSettings } from '../config/config';

/** What an HTTP/2 client sends first when it knows the server speaks HTTP/2 (RFC 9113 §3.4). */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * An `http.Server` that also speaks HTTP/2 cleartext with prior knowledge on the same port, as
 * the AWS SDK's default request handler does. Each new connection's first bytes decide: the
 * HTTP/2 preface goes to an HTTP/2 session, anything else to node:http exactly as usual. The
 * sniff costs one read per connection, never per request, so keep-alive HTTP/1 traffic runs as
 * before.
 *
 * Nothing a client holds open stays open for free (`settings`, from `config.server`): at most
 * `maxConnections` connections are open at once (node closes any past it as it is accepted, and
 * emits 'drop'), an HTTP/2 session with no open stream is sent GOAWAY after `http2IdleTimeoutMs`,
 * a connection that has not yet said which protocol it speaks is dropped after as long, and an
 * HTTP/1.1 connection idle between requests after 5 s. node:http's own request timeout
 * is set just past the body timeout, which the adapter enforces with an answer in the API's shape.
 *
 * @example
 * const server = new DualProtocolServer((req, res) => …, (stream, headers) => …, config.server);
 * server.listen(8787);
 */
export class DualProtocolServer extends Server {
  private readonly http2: Http2Server;
  private readonly sessions = new Set<Http2Session>();
  /** Connections that have not sent enough to tell their protocol: neither server's to close yet. */
  private readonly sniffing = new Set<Socket>();

  constructor(
    onRequest: (req: IncomingMessage, res: ServerResponse) => void,
    onHttp2Stream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void,
    settings: ServerSettings = DEFAULT_SERVER_SETTINGS,
  ) {
    // The adapter times the body out first, with a 408 the client's SDK can read; node's own
    // timeout (a bare 408, checked every 30 s) stays the backstop for headers and unread bodies.
    super({ headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: HEADERS_TIMEOUT_MS + settings.bodyTimeoutMs, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, onRequest);
    // Counted by the listening socket, before the sniff: an HTTP/2 session is one connection like
    // any other. node closes a connection past the cap as soon as it is accepted ('drop').
    this.maxConnections = settings.maxConnections;
    this.http2 = createHttp2Server({ settings: { maxConcurrentStreams: settings.http2MaxConcurrentStreams } });
    const idleMs = settings.http2IdleTimeoutMs;
    // node:http registers exactly one connection listener, its parser setup; it now runs only for HTTP/1 connections.
    const [serveHttp1, ...others] = this.listeners('connection') as ((socket: Socket) => void)[];
    if (!serveHttp1 || others.length > 0) throw new Error('node:http no longer registers a single connection listener');
    this.removeListener('connection', serveHttp1);
    this.on('connection', (socket: Socket) => {
      this.sniffing.add(socket);
      socket.once('close', () => this.sniffing.delete(socket));
      sniff(socket, idleMs, (http2) => {
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
      closeWhenIdle(session, idleMs);
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

/** node:http's default: the request line and headers of an HTTP/1 request must arrive within this. */
const HEADERS_TIMEOUT_MS = 60_000;
/** node:http's default, made explicit: an HTTP/1.1 connection idle between requests is closed after this. */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** The longest delay node's timers take; a longer one would fire after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A session with no open stream holds a socket and memory for nothing: it is sent GOAWAY after
 * `ms`, and destroyed if it is still there `ms` later (`close()` ends it at once, unless its
 * GOAWAY cannot be written to a client that stopped reading). Open streams keep a session: a
 * request may wait minutes on its upstream with no byte flowing, and the body timeouts already
 * bound a client that is slow to send.
 */
function closeWhenIdle(session: Http2Session, ms: number): void {
  let open = 0;
  let timer: NodeJS.Timeout | undefined;
  const idle = (): void => {
    timer = setTimeout(() => {
      if (session.closed) {
        session.destroy();
        return;
      }
      session.close();
      idle();
    }, Math.min(ms, MAX_TIMER_MS));
    timer.unref();
  };
  session.on('stream', (stream: ServerHttp2Stream) => {
    open += 1;
    clearTimeout(timer);
    stream.once('close', () => {
      open -= 1;
      if (open === 0 && !session.destroyed) idle();
    });
  });
  session.once('close', () => clearTimeout(timer));
  idle();
}

/**
 * Reads until the bytes either match the whole preface or stop matching it, then puts them back.
 * A connection that sends nothing (or only part of the preface) within `timeoutMs` is dropped:
 * it is not yet any server's to time out.
 */
function sniff(socket: Socket, timeoutMs: number, decide: (http2: boolean) => void): void {
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
  socket.setTimeout(Math.min(timeoutMs, MAX_TIMER_MS), abandon);
  socket.on('data', onData);
  socket.once('end', abandon);
  socket.once('error', abandon);
}
