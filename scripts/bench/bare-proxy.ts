import { createServer, type Server } from 'node:http';
import { Agent, type Dispatcher } from 'undici';

/**
 * The practical ceiling for any Node proxy on this machine: node:http in, a pooled keep-alive
 * undici client out, the body piped back chunk by chunk. No auth, no parsing, no metering.
 * `paths` maps a gateway path to the upstream's (e.g. /proxy/openai/chat/completions → /v1/chat/completions).
 */
export function createBareProxy(origin: string, paths: ReadonlyMap<string, string>): Server {
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 256 });
  return createServer((req, res) => {
    const { host: _host, connection: _connection, ...headers } = req.headers;
    const path = paths.get(req.url ?? '/') ?? req.url ?? '/';
    agent.request({ origin, path, method: req.method as Dispatcher.HttpMethod, headers, body: req }).then(
      (upstream) => {
        const { connection: _c, 'keep-alive': _k, 'transfer-encoding': _t, ...out } = upstream.headers;
        res.writeHead(upstream.statusCode, out);
        upstream.body.pipe(res);
      },
      () => res.writeHead(502).end(),
    );
  });
}
