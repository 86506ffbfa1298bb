import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startRecordingServer, type SeenRequest } from './recording-server';

/** How a faulty upstream answers every request. */
export type Fault =
  /** An error response, in the provider's own shape. */
  | { readonly kind: 'status'; readonly status: number; readonly body: string; readonly contentType?: string }
  /** Takes the request and never answers: the gateway's first-byte timeout decides. */
  | { readonly kind: 'hang' }
  /** A 200 stream whose connection is destroyed after these chunks. */
  | { readonly kind: 'cut'; readonly contentType: string; readonly chunks: readonly Buffer[] }
  /** A 200 stream that goes quiet after these chunks and stays open until the gateway leaves (or the fake closes). */
  | { readonly kind: 'stall'; readonly contentType: string; readonly chunks: readonly Buffer[] };

export interface FaultyUpstream {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly requests: SeenRequest[];
  fault: Fault;
  close(): Promise<void>;
}

/**
 * A provider on loopback that fails every request the way `fault` says, whatever the provider
 * kind: it checks no credential (the healthy fakes do), and records what it received.
 */
export async function startFaultyUpstream(fault: Fault = { kind: 'hang' }): Promise<FaultyUpstream> {
  const server = await startRecordingServer((_seen, res) => respond(res, upstream.fault));
  const upstream: FaultyUpstream = { origin: server.origin, requests: server.requests, fault, close: () => server.close() };
  return upstream;
}

async function respond(res: ServerResponse, fault: Fault): Promise<void> {
  switch (fault.kind) {
    case 'hang':
      return;
    case 'status': {
      const body = Buffer.from(fault.body);
      res.writeHead(fault.status, { 'content-type': fault.contentType ?? 'application/json', 'content-length': String(body.length) });
      res.end(body);
      return;
    }
    case 'cut':
      res.writeHead(200, { 'content-type': fault.contentType });
      for (const chunk of fault.chunks) await new Promise((resolve) => res.write(chunk, resolve));
      // Let what was written reach the gateway first, or the cut could land before the headers.
      await new Promise((resolve) => setTimeout(resolve, 50));
      res.socket?.destroy();
      return;
    case 'stall':
      res.writeHead(200, { 'content-type': fault.contentType });
      for (const chunk of fault.chunks) await new Promise((resolve) => res.write(chunk, resolve));
      return;
  }
}

/** An origin on loopback where nothing listens: connecting to it is refused. */
export async function refusedOrigin(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
