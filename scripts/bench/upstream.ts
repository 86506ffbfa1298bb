import { createServer, type Server, type ServerResponse } from 'node:http';
import { apiForUpstreamPath, type ApiShape } from './wire';

export interface UpstreamOptions {
  /** Delay before a non-streaming response. */
  readonly latencyMs: number;
  /** Events per stream (at least 6, so every API's framing fits). */
  readonly streamEvents: number;
  /** Delay before the first event (headers go out with it). */
  readonly firstChunkDelayMs: number;
  /** Fixed gap between later events. */
  readonly streamIntervalMs: number;
}

/**
 * A fake provider on loopback: canned bodies for every API in wire.ts, a fixed latency for
 * documents, N events at a fixed interval for streams. It reads the request body in full (as a
 * real API does) but parses nothing, so it stays cheap next to what it is measuring.
 */
export function createUpstream(options: UpstreamOptions): Server {
  const streams = new Map<ApiShape, Buffer[]>();
  const eventsFor = (api: ApiShape): Buffer[] => {
    let events = streams.get(api);
    if (!events) streams.set(api, (events = api.streamEvents(options.streamEvents)));
    return events;
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      // The gateway's OTLP export, with --tracing=on: taken and let go, as a collector would answer.
      if (req.url === '/v1/traces') {
        res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': '0' }).end();
        return;
      }
      const api = apiForUpstreamPath(req.url ?? '');
      if (!api || req.method !== 'POST') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
        return;
      }
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      if (api.isStreamRequest(req.url ?? '', body)) stream(res, api.streamContentType, eventsFor(api), options);
      else if (options.latencyMs > 0) setTimeout(() => document(res, api), options.latencyMs);
      else document(res, api);
    });
  });
  // Keep client connections (and the proxies' pools) open across the whole run.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 0;
  server.requestTimeout = 0;
  return server;
}

function document(res: ServerResponse, api: ApiShape): void {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(api.responseBody.byteLength), 'x-request-id': 'req_bench' });
  res.end(api.responseBody);
}

function stream(res: ServerResponse, contentType: string, events: Buffer[], options: UpstreamOptions): void {
  let next = 0;
  let timer: NodeJS.Timeout | undefined;
  res.on('close', () => clearTimeout(timer));
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache', 'x-request-id': 'req_bench' });
  const send = (): void => {
    if (res.destroyed) return;
    res.write(events[next++]);
    if (next < events.length) timer = setTimeout(send, options.streamIntervalMs);
    else res.end();
  };
  if (options.firstChunkDelayMs > 0) timer = setTimeout(send, options.firstChunkDelayMs);
  else send();
}
