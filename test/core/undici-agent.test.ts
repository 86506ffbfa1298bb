import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as undici from 'undici';
import { Agent } from '../../lambda/core/undici-agent';

/**
 * The gateway loads undici's Agent from inside the package (lambda/core/undici-agent.ts), to keep
 * the rest of undici out of the Lambda bundle. Those paths are not undici's public API: this
 * fails first if an undici upgrade moves them.
 */
describe("undici's Agent, loaded on its own", () => {
  let server: Server;
  beforeAll(async () => {
    server = createServer((req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(`${req.method} ${req.url}`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('is the Agent undici itself exports', () => {
    expect(Agent).toBe(undici.Agent);
  });

  it('has the promise API and makes a request with it, with nothing else of undici loaded', async () => {
    // GIVEN an agent built from the narrow import, in a module registry where undici's root never ran
    let Narrow: typeof Agent | undefined;
    jest.isolateModules(() => {
      ({ Agent: Narrow } = jest.requireActual<typeof import('../../lambda/core/undici-agent')>('../../lambda/core/undici-agent'));
    });
    expect(Narrow).not.toBe(Agent);
    const agent = new Narrow!();
    try {
      // WHEN it makes a request
      const response = await agent.request({ origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, path: '/v1/models?x=1', method: 'GET' });

      // THEN the answer comes back whole
      expect(response.statusCode).toBe(200);
      expect(await response.body.text()).toBe('GET /v1/models?x=1');
    } finally {
      await agent.close();
    }
  });
});
