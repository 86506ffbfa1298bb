import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseConfig } from '../../lambda/config/config';
import { envCredentials } from '../../lambda/config/credentials';
import { createGateway } from '../../lambda/core/gateway';
import { createUpstreamAgent } from '../../lambda/core/upstream';
import { InvocationDeadline } from '../../lambda/handlers/deadline';
import { issueKey } from '../../lambda/keys/issue-key';
import { Pricer } from '../../lambda/pricing/pricer';
import { createNodeServer } from '../../lambda/server/node-http';
import { openSqliteStore } from '../../lambda/store/sqlite';
import type { Store } from '../../lambda/store/port';
import { startFaultyUpstream, type FaultyUpstream } from '../support/faulty-upstream';
import { recordingLogger } from '../support/recording-logger';

/** Milliseconds the invocation has: the first member hangs far longer. */
const REMAINING_MS = 300;

/**
 * When the Lambda invocation's own time runs out during a routing group's first attempt, the
 * provider did nothing wrong and no other member can answer in the time left: the request ends
 * there (504, the gateway's time limit), no other member is tried, and no circuit counts it.
 */
describe('the invocation deadline during an upstream call', () => {
  let first: FaultyUpstream;
  let second: FaultyUpstream;
  let server: Server;
  let store: Store;
  let url: string;
  let key: string;
  const deadline = new InvocationDeadline(0);
  const logger = recordingLogger();

  beforeAll(async () => {
    first = await startFaultyUpstream({ kind: 'hang' });
    second = await startFaultyUpstream({ kind: 'hang' });
    const config = parseConfig(
      {
        providers: {
          first: { kind: 'openai', baseUrl: `${first.origin}/v1`, credential: { env: 'OPENAI_API_KEY' } },
          second: { kind: 'openai', baseUrl: `${second.origin}/v1`, credential: { env: 'OPENAI_API_KEY' } },
        },
        routes: { pool: { members: [{ provider: 'first', priority: 1 }, { provider: 'second', priority: 2 }] } },
        // One failure opens a circuit: a time limit counted against an account would show at once.
        routing: { circuitBreakerFailures: 1 },
      },
      'test',
    );
    store = openSqliteStore({ dataDir: ':memory:' });
    const gateway = createGateway({
      config,
      store,
      pricer: new Pricer(config.prices),
      upstream: deadline.bind(createUpstreamAgent(config.upstream)),
      credential: envCredentials({ OPENAI_API_KEY: 'sk-test' }),
      logger,
    });
    server = createNodeServer(gateway, undefined, config.server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    ({ key } = await issueKey(store, { project: 'acme' }));
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await store.close();
    await first.close();
    await second.close();
  });

  afterEach(() => {
    first.requests.length = 0;
    second.requests.length = 0;
    logger.lines.length = 0;
  });

  it('answers 504 with the gateway’s time limit, tries no other member and opens no circuit', async () => {
    // WHEN the first member hangs until the invocation's time is up
    const { status, body } = await deadline.during(REMAINING_MS, async () => {
      const response = await fetch(`${url}/proxy/pool/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] }),
      });
      return { status: response.status, body: (await response.json()) as { error: { message: string; code: string } } };
    });

    // THEN the client is told it was the gateway's limit, in OpenAI's shape
    expect(status).toBe(504);
    expect(body.error.code).toBe('upstream_timeout');
    expect(body.error.message).toMatch(/time limit/);
    // AND only the member tried first was sent the request (attempts of equal priority are in random order)
    expect(first.requests.length + second.requests.length).toBe(1);
    const events = logger.lines.map((line) => line.event);
    expect(events.filter((event) => event === 'upstream_attempt_failed')).toHaveLength(1);
    expect(events).not.toContain('circuit_opened');
    expect(logger.lines.find((line) => line.event === 'request_settled')?.fields).toMatchObject({ status: 504, attempts: 1 });
  });

  it('answers a document still arriving at the deadline 504 with the gateway’s time limit, not 502', async () => {
    // GIVEN an account that sends a JSON document's headers and a first piece of it, then nothing
    first.fault = { kind: 'stall', contentType: 'application/json', chunks: [Buffer.from('{"id": "chatcmpl-1",')] };
    try {
      // WHEN a non-streaming request to it is still reading that document when the invocation's time is up
      const { status, body } = await deadline.during(REMAINING_MS, async () => {
        const response = await fetch(`${url}/proxy/first/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] }),
        });
        return { status: response.status, body: (await response.json()) as { error: { message: string; code: string } } };
      });

      // THEN the client is told it was the gateway's limit, in OpenAI's shape
      expect(status).toBe(504);
      expect(body.error).toMatchObject({ code: 'upstream_timeout', message: expect.stringMatching(/time limit/) });
    } finally {
      first.fault = { kind: 'hang' };
    }
  });
});
