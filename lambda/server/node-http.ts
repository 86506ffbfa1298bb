import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { DEFAULT_SERVER_SETTINGS, type ServerSettings } from '../config/config';
import type { Gateway } from '../core/gateway';
import type { GatewayRequest, GatewayResponse, OutgoingHeaders } from '../core/http-types';
import { DualProtocolServer } from './dual-protocol-server';
import { http1Response } from './http1-adapter';
import { http2Request, http2Response } from './http2-adapter';
import { InFlight } from './in-flight';
import { requestBody } from './request-body';

/**
 * The local adapter: HTTP/1.1 and HTTP/2 cleartext on one port, into the core; the core's
 * async-iterable body out, with backpressure. Each request is tracked in `inFlight` until its
 * body is written and its spend settled. `settings` bound what a client may hold open: how long
 * its body may take, and how long an HTTP/2 connection may sit idle.
 */
export function createNodeServer(gateway: Gateway, inFlight = new InFlight(), settings: ServerSettings = DEFAULT_SERVER_SETTINGS): Server {
  const http1 = (req: IncomingMessage, res: ServerResponse, onRead?: () => void): void => {
    const body = requestBody(req, settings, onRead);
    inFlight.track(serve(gateway, { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body }, http1Response(req, res), settings.writeStallTimeoutMs));
  };
  const server = new DualProtocolServer(
    (req, res) => http1(req, res),
    (stream, headers) => {
      inFlight.track(serve(gateway, http2Request(stream, headers, settings), http2Response(stream), settings.writeStallTimeoutMs));
    },
    settings,
  );
  // `Expect: 100-continue` (curl sends it for large bodies): the client waits to be asked before
  // sending its body, so ask only once the core starts reading it. A request refused first (no
  // key) is answered without the body ever being sent.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    http1(req, res, () => {
      if (!res.headersSent) res.writeContinue();
    });
  });
  return server;
}

/** The calls `serve` makes on a response: an `http.ServerResponse` or an HTTP/2 stream, through their adapters. */
export interface NodeResponse {
  writeHead(status: number, headers: OutgoingHeaders): unknown;
  flushHeaders(): void;
  write(chunk: Uint8Array): boolean;
  end(): unknown;
  destroy(error: Error): unknown;
  readonly destroyed: boolean;
  on(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

async function serve(gateway: Gateway, request: GatewayRequest, res: NodeResponse, stallMs: number): Promise<void> {
  const response = await gateway.handle(request);
  try {
    res.writeHead(response.status, response.headers);
    // A body of unknown length is a stream: send its headers now rather than with the first chunk,
    // so the client's SDK can return the stream object at once. Sized bodies go out in one write.
    if (response.headers['content-length'] === undefined) res.flushHeaders();
  } catch (error) {
    // The client went away before the headers could go (an HTTP/2 stream it cancelled throws
    // here), or the head could not be written at all. The body is still started and at once
    // abandoned, so that the upstream is read to its end and the spend settled, as for any client
    // that leaves; a client still there is cut rather than left waiting for an answer that will never come.
    await abandon(response.body);
    if (!res.destroyed) res.destroy(error instanceof Error ? error : new Error(String(error)));
    return;
  }
  try {
    await writeBody(response, res, request.method === 'HEAD', stallMs);
    res.end();
  } catch (error) {
    // The upstream broke mid-body: cut the connection so the client cannot mistake it for a full response.
    res.destroy(error instanceof Error ? error : new Error(String(error)));
  }
}

async function abandon(body: AsyncIterable<Uint8Array>): Promise<void> {
  try {
    for await (const chunk of body) {
      void chunk;
      break;
    }
  } catch {
    // The upstream failed as well: the body's own settlement has recorded that.
  }
}

async function writeBody(response: GatewayResponse, res: NodeResponse, head: boolean, stallMs: number): Promise<void> {
  for await (const chunk of response.body) {
    if (head) continue;
    if (res.destroyed) break;
    if (!res.write(chunk)) await drainOrClose(res, stallMs);
  }
}

/**
 * Waits for the client to take what was written. A client that takes nothing for `stallMs` is
 * treated as gone: its connection is cut, so it cannot hold a key's slot, an upstream connection
 * and a reservation open by not reading (the body is then read to its end and settled).
 */
function drainOrClose(res: NodeResponse, stallMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    const timer = setTimeout(() => {
      res.destroy(new Error(`the client read nothing for ${stallMs} ms`));
      done();
    }, stallMs);
    res.on('drain', done);
    res.on('close', done);
  });
}
