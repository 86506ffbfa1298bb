import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RawUpstream {
  /** `http://127.0.0.1:<port>/v1`, a base URL for the openai provider. */
  readonly baseUrl: string;
  /** Requests whose body arrived whole. */
  readonly received: () => number;
  close(): Promise<void>;
}

/** A loopback upstream that reads each request whole and then answers however `respond` says (or never). */
export async function startRawUpstream(respond: (res: ServerResponse, req: IncomingMessage) => void): Promise<RawUpstream> {
  let received = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      respond(res, req);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    received: () => received,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
