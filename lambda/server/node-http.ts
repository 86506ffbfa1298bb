import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Gateway } from '../core/gateway';
import type { GatewayResponse } from '../core/http-types';

/** The local adapter: node:http in, the core's async-iterable body out, with backpressure. */
export function createNodeServer(gateway: Gateway): Server {
  return createServer((req, res) => {
    void serve(gateway, req, res);
  });
}

async function serve(gateway: Gateway, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const response = await gateway.handle({
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    headers: req.headers,
    body: req,
  });
  res.writeHead(response.status, response.headers);
  // A body of unknown length is a stream: send its headers now rather than with the first chunk,
  // so the client's SDK can return the stream object at once. Sized bodies go out in one write.
  if (response.headers['content-length'] === undefined) res.flushHeaders();
  try {
    await writeBody(response, res, req.method === 'HEAD');
    res.end();
  } catch (error) {
    // The upstream broke mid-body: cut the connection so the client cannot mistake it for a full response.
    res.destroy(error instanceof Error ? error : new Error(String(error)));
  }
}

async function writeBody(response: GatewayResponse, res: ServerResponse, head: boolean): Promise<void> {
  for await (const chunk of response.body) {
    if (head) continue;
    if (res.destroyed) break;
    if (!res.write(chunk)) await drainOrClose(res);
  }
}

function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
