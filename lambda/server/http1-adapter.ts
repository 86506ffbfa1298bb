import type { IncomingMessage, ServerResponse } from 'node:http';
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

// A class rather than an object of closures: one allocation per request on the hot path.
class Http1Response implements NodeResponse {
  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {}

  writeHead(status: number, headers: OutgoingHeaders): void {
    this.res.writeHead(status, this.req.complete ? headers : { ...headers, connection: 'close' });
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
