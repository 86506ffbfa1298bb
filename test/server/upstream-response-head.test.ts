import { connect } from 'node:http2';
import type { ServerResponse } from 'node:http';
import { fixture } from '../support/fake-openai';
import type { AddressInfo, Server } from 'node:net';
import type { Gateway } from '../../lambda/core/gateway';
import type { GatewayResponse } from '../../lambda/core/http-types';
import { createNodeServer } from '../../lambda/server/node-http';
import { gate, within } from '../support/gate';
import { startHarness, type Harness } from '../support/harness';
import { CHAT_BODY, CHAT_ESTIMATE } from '../limits/support';
import type { SpendCounter } from '../../lambda/store/port';

interface Answer {
  readonly status: number | undefined;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  /** Set when the response was cut (a reset stream or socket) rather than ended. */
  readonly error?: string;
}

type Client = (url: string, key: string) => Promise<Answer>;

const viaHttp1: Client = async (url, key) => {
  const response = await fetch(`${url}/proxy/openai/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: CHAT_BODY,
  });
  return { status: response.status, headers: Object.fromEntries(response.headers), body: await response.text() };
};

const viaHttp2: Client = (url, key) =>
  new Promise((resolve) => {
    const session = connect(url);
    session.on('error', () => {});
    const stream = session.request({ ':method': 'POST', ':path': '/proxy/openai/chat/completions', authorization: `Bearer ${key}`, 'content-type': 'application/json' });
    let head: Record<string, string | string[] | undefined> = {};
    const chunks: Buffer[] = [];
    stream.on('response', (headers) => (head = headers));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    const done = (error?: Error): void => {
      session.close();
      const { ':status': status, ...headers } = head;
      resolve({ status: status === undefined ? undefined : Number(status), headers, body: Buffer.concat(chunks).toString('utf8'), ...(error && { error: error.message }) });
    };
    stream.on('end', () => done());
    stream.on('error', done);
    stream.end(CHAT_BODY);
  });

/**
 * An upstream's response head that HTTP/1.1 carries but HTTP/2 cannot (a header repeated where
 * HTTP/2 allows one value, a connection-specific header, a status outside 100–599) must still
 * reach the client as an answer: never a stream left open that nobody will ever end.
 */
describe.each([
  ['HTTP/1.1', viaHttp1],
  ['HTTP/2', viaHttp2],
])('an upstream response head HTTP/2 cannot carry as it is, to a client on %s', (_protocol, client: Client) => {
  let harness: Harness;
  let key: string;
  let keyId: string;

  beforeAll(async () => {
    harness = await startHarness();
  });
  afterAll(() => harness.close());
  beforeEach(async () => {
    harness.upstream.reset();
    const issued = await harness.issue();
    key = issued.key;
    keyId = issued.record.id;
  });

  const recorded = fixture('chat.json');

  it('with repeated single-value headers and a `te` header, still answers with the upstream bytes, metered', async () => {
    // GIVEN an upstream that repeats its content-type and location, and sends a `te` header
    harness.upstream.behaviour.raw = (res: ServerResponse) => {
      res.setHeader('content-type', ['application/json', 'application/json; charset=utf-8']);
      res.setHeader('location', ['/v1/a', '/v1/b']);
      res.setHeader('te', 'gzip');
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.setHeader('content-length', String(recorded.length));
      res.end(recorded);
    };

    // WHEN a client calls through the gateway
    const answer = await within(client(harness.gateway.url, key), 5_000, 'the client was never answered');

    // THEN it gets the upstream's status and bytes, priced, with each repeated header as one field
    expect(answer.error).toBeUndefined();
    expect(answer.status).toBe(200);
    expect(answer.body).toBe(recorded.toString('utf8'));
    expect(answer.headers['x-tollgate-cost-usd']).toMatch(/^0\.\d+$/);
    expect(answer.headers['content-type']).toBe('application/json, application/json; charset=utf-8');
    expect(answer.headers['location']).toBe('/v1/a, /v1/b');
  });

  it('with a status past 599, answers 502 in the API’s shape, and charges the reservation (the model may have run)', async () => {
    // GIVEN an upstream that answers with a status HTTP does not have
    harness.upstream.behaviour.raw = (res: ServerResponse) => {
      res.writeHead(600, { 'content-type': 'application/json', 'content-length': String(recorded.length) });
      res.end(recorded);
    };

    // WHEN a client calls through the gateway
    const answer = await within(client(harness.gateway.url, key), 5_000, 'the client was never answered');

    // THEN it gets a 502 it can read, and the request settles at its reservation
    expect(answer.status).toBe(502);
    expect(JSON.parse(answer.body)).toEqual({
      error: { message: expect.stringMatching(/answered with HTTP status 600/), type: 'server_error', param: null, code: 'upstream_unreachable' },
    });
    const lifetime = (counters: SpendCounter[]) => counters.find((counter) => counter.scope.kind === 'key' && counter.scope.id === keyId && counter.period === 'lifetime');
    const counters = await harness.waitForSpend((all) => lifetime(all)?.requests === 1 && lifetime(all)?.reservedNanos === 0);
    expect(lifetime(counters)?.nanos).toBe(CHAT_ESTIMATE);
  });
});

/** A head neither protocol can write at all: the backstop in the node adapter, below any one header's repair. */
describe('a response head the local server cannot write', () => {
  let server: Server;
  afterEach(() => new Promise((resolve) => server.close(resolve)));

  it.each([
    ['HTTP/1.1', viaHttp1],
    ['HTTP/2', viaHttp2],
  ])('cuts the %s response, rather than leave the client waiting, and still ends the body so its spend settles', async (_protocol, client: Client) => {
    // GIVEN a core whose answer has a status no HTTP version can send, and a body that records its end
    const settled = gate();
    async function* body(): AsyncGenerator<Uint8Array> {
      try {
        yield Buffer.from('{"ok":true}');
      } finally {
        settled.open();
      }
    }
    const core: Gateway = {
      handle: async (): Promise<GatewayResponse> => ({ status: 1000, headers: { 'content-type': 'application/json' }, body: body() }),
    };
    server = createNodeServer(core);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

    // WHEN a client asks
    const answer = await within(
      client(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'unused').catch((error: Error) => ({ status: undefined, headers: {}, body: '', error: String(error) })),
      5_000,
      'the client was left waiting',
    );

    // THEN it sees a failed response, and the body was iterated to its end
    expect(answer.error).toBeDefined();
    await within(settled.promise, 2_000, 'the response body was never iterated: its spend would never settle');
  });
});
