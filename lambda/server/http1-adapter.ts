import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { OutgoingHeaders } from '../core/http-types';
import type { NodeResponse } from './node-http';

/**
 * `http.ServerResponse` as `serve` uses it. A response that goes out before its request body has
 * all arrived — refused before the body was read (no key), a body over the limit, a body that
 * timed out — says `connection: close`, and node:http then destroys the socket once the response
 * is flushed. Kept alive instead, node would read ("dump") the rest of the body to reach the next
 * request: all of a 100 GB Content-Length, or a chunked body for ever. A body read to its end
 * leaves the connection alive as before.
 */
export function http1Response(req: IncomingMessage, res: ServerResponse): NodeResponse {
  return new Http1Response(req, res);
}

/** How long a closing connection waits, reading nothing, for its client to take the answer and close first. */
const LINGER_MS = 2_000;

/**
 * node:http destroys a `connection: close` socket the moment its response is written. With the
 * client's unread body still arriving, the kernel then answers with a reset, and a client that
 * had not yet read the response (still busy sending) loses it: it sees a reset, not the 413 or
 * 401. So the socket is half-closed instead (FIN after the response) and destroyed only once the
 * client closes or `LINGER_MS` pass. Meanwhile it reads nothing: node "dumps" a request nobody
 * read by resuming it just before this runs, which would pull the rest of the body off the wire
 * at full speed, so the socket is paused and kept paused.
 */
function lingerBeforeClosing(socket: Socket): void {
  socket.destroySoon = function lingeringDestroySoon(this: Socket): void {
    stopReading(this);
    this.resume = () => this;
    if (this.writable) this.end();
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    this.once('close', () => clearTimeout(timer));
  };
}

/**
 * node:http's parser reads the socket's handle directly, and stops it only from its listener for
 * the socket's 'pause' event; a socket already paused (as a dumped request leaves it) emits no
 * second one. So the handle is stopped here too: `test/server/unread-body.test.ts` counts what
 * is still read, and fails if a node upgrade changes this.
 */
function stopReading(socket: Socket): void {
  socket.pause();
  const handle = (socket as unknown as { _handle?: { reading?: boolean; readStop?: () => number } })._handle;
  if (handle?.reading) {
    handle.reading = false;
    handle.readStop?.();
  }
}

// A class rather than an object of closures: one allocation per request on the hot path.
class Http1Response implements NodeResponse {
  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {}

  writeHead(status: number, headers: OutgoingHeaders): void {
    if (this.req.complete) return void this.res.writeHead(status, headers);
    lingerBeforeClosing(this.req.socket);
    this.res.writeHead(status, { ...headers, connection: 'close' });
  }

  flushHeaders(): void {
    this.res.flushHeaders();
  }

  write(chunk: Uint8Array): boolean {
    return this.res.write(chunk);
  }

  end(): void {
    this.res.end();
  }

  destroy(error: Error): void {
    this.res.destroy(error);
  }

  get destroyed(): boolean {
    return this.res.destroyed;
  }

  on(event: 'drain' | 'close', listener: () => void): void {
    this.res.on(event, listener);
  }

  off(event: 'drain' | 'close', listener: () => void): void {
    this.res.off(event, listener);
  }
}
