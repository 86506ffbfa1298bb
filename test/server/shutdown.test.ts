import { connect } from 'node:net';
import OpenAI from 'openai';
import { gate, within } from '../support/gate';
import { startHarness, type Harness } from '../support/harness';

/** Closing the local gateway (SIGTERM in `serve`) lets requests in flight finish and settle. */
describe('closing the local gateway', () => {
  let harness: Harness;
  afterEach(async () => {
    await harness.upstream.close();
    await harness.store.close();
  });

  it('lets a request in flight finish, and settles its spend, before it returns', async () => {
    // GIVEN a request the upstream is holding
    harness = await startHarness();
    const { key } = await harness.issue({});
    const held = gate();
    harness.upstream.behaviour = { hold: held.promise };
    const client = new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/openai`, maxRetries: 0 });
    const completion = client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] });
    await within(
      (async () => {
        while (harness.upstream.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      })(),
      5_000,
      'the request never reached the upstream',
    );

    // WHEN the gateway is closed while the request is held, and the upstream then answers
    let closedAt = 0;
    const closing = harness.gateway.close().then(() => (closedAt = Date.now()));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const answeredAt = Date.now();
    held.open();

    // THEN the client gets its whole response, the gateway finishes closing only after that, and
    // the request's spend is settled: nothing is left reserved
    expect((await completion).choices[0]?.message.content).toBeTruthy();
    await within(closing, 5_000, 'close never returned');
    expect(closedAt).toBeGreaterThanOrEqual(answeredAt);
    const counters = await harness.store.getSpend({ kind: 'key' });
    const lifetime = counters.find((c) => c.period === 'lifetime');
    expect(lifetime).toMatchObject({ requests: 1, reservedNanos: 0 });
    expect(lifetime?.nanos).toBeGreaterThan(0);
  });

  it('does not wait on a connection that has not said anything yet', async () => {
    // GIVEN a client connected that has sent no byte (a preconnect, a probe)
    harness = await startHarness();
    const socket = connect(Number(new URL(harness.gateway.url).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.on('error', () => {});

    // THEN closing does not wait for it to speak or time out
    await within(harness.gateway.close(), 2_000, 'close waited on a silent connection');
    socket.destroy();
  });

  it('refuses new connections once closing has begun', async () => {
    harness = await startHarness();
    await harness.gateway.close();
    await expect(fetch(`${harness.gateway.url}/`)).rejects.toThrow();
  });
});
