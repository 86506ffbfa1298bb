import { connect } from 'node:http2';
import type { AddressInfo, Server } from 'node:net';
import type { Gateway } from '../../lambda/core/gateway';
import type { GatewayResponse } from '../../lambda/core/http-types';
import { createNodeServer } from '../../lambda/server/node-http';
import { gate, within } from '../support/gate';

/**
 * An HTTP/2 client that cancels its stream while the core is still working: the response body
 * must still be iterated (so the upstream is read and the spend settled), and nothing may reject
 * unhandled (which would end the process).
 */
describe('an HTTP/2 stream cancelled before its response head', () => {
  let server: Server;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  beforeAll(() => process.on('unhandledRejection', onUnhandled));
  afterAll(() => process.off('unhandledRejection', onUnhandled));
  afterEach(async () => new Promise((resolve) => server.close(resolve)));

  it('still ends the body, so its spend settles, and rejects nothing unhandled', async () => {
    // GIVEN a core that answers only after the client has cancelled, with a body that records its end
    const answer = gate();
    const settled = gate();
    async function* body(): AsyncGenerator<Uint8Array> {
      try {
        yield Buffer.from('{"ok":true}');
      } finally {
        settled.open();
      }
    }
    const core: Gateway = {
      async handle(): Promise<GatewayResponse> {
        await answer.promise;
        return { status: 200, headers: { 'content-type': 'application/json' }, body: body() };
      },
    };
    server = createNodeServer(core);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    client.on('error', () => {});

    // WHEN the client cancels its stream, and the core answers after that
    const stream = client.request({ ':path': '/proxy/openai/chat/completions', ':method': 'POST' });
    stream.on('error', () => {});
    stream.end('{}');
    await new Promise((resolve) => setTimeout(resolve, 50));
    stream.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    answer.open();

    // THEN the body was iterated to its end, and no promise rejected unhandled
    await within(settled.promise, 2_000, 'the response body was never iterated: its spend would never settle');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(unhandled).toEqual([]);
    client.close();
  });
});
