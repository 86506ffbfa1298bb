import { within } from '../support/gate';
import type { Harness } from '../support/harness';
import { CHAT, gate, limitsHarness, post, storesUnderTest } from './support';

const STREAM_BODY = JSON.stringify({ ...CHAT, stream: true });

describe.each(storesUnderTest())('one key cannot starve the others, on the $name store', (backend) => {
  let harness: Harness;

  beforeEach(async () => {
    harness = await limitsHarness(await backend.open());
  });
  afterEach(async () => {
    await harness.close();
  });
  afterAll(async () => {
    await backend.close();
  });

  it('serves another key at once while one key holds 300 streams open (default settings)', async () => {
    // GIVEN key A opens 300 streams that the upstream holds after their first chunk
    const a = (await harness.issue({ name: 'a' })).key;
    const b = (await harness.issue({ name: 'b' })).key;
    const held = gate();
    harness.upstream.behaviour.holdAfterFirstChunk = held.promise;
    const streams = await Promise.all(Array.from({ length: 300 }, () => post(harness, a, STREAM_BODY)));

    try {
      // WHEN key B makes one ordinary request while they are all still open
      const other = await within(post(harness, b), 5_000, 'key B waited behind key A');

      // THEN B is served, and A was held to its share: the rest of A's requests were told to retry
      expect(other.status).toBe(200);
      await other.arrayBuffer();
      const statuses = streams.map((response) => response.status);
      expect(statuses.filter((status) => status === 200)).toHaveLength(64);
      expect(statuses.filter((status) => status === 429)).toHaveLength(236);
      const refused = streams.find((response) => response.status === 429)!;
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/64 requests in flight/);
    } finally {
      held.open();
      await Promise.all(streams.map((response) => response.arrayBuffer().catch(() => undefined)));
    }
    // AND once A's streams end, A is served again
    const again = await post(harness, a);
    expect(again.status).toBe(200);
    await again.arrayBuffer();
  }, 60_000);

  it('counts calls that run no model against a key’s rate limit and concurrency', async () => {
    // GIVEN a key allowed 2 requests a minute
    const issued = await harness.issue({ rateLimits: { requestsPerMinute: 2 } });

    // WHEN it lists models ten times
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const response = await fetch(`${harness.gateway.url}/proxy/openai/models`, { headers: { authorization: `Bearer ${issued.key}` } });
      statuses.push(response.status);
      await response.arrayBuffer();
    }

    // THEN two went through and eight were refused, none of them forwarded
    expect(statuses.filter((status) => status === 200)).toHaveLength(2);
    expect(statuses.filter((status) => status === 429)).toHaveLength(8);
    expect(harness.upstream.requests).toHaveLength(2);
  });

  it('refuses a free call while a key’s only concurrent slot is taken by a stream', async () => {
    const { key } = await harness.issue({ rateLimits: { concurrent: 1 } });
    const held = gate();
    harness.upstream.behaviour.holdAfterFirstChunk = held.promise;
    const stream = await post(harness, key, STREAM_BODY);
    expect(stream.status).toBe(200);

    const listing = await fetch(`${harness.gateway.url}/proxy/openai/models`, { headers: { authorization: `Bearer ${key}` } });

    expect(listing.status).toBe(429);
    held.open();
    await stream.arrayBuffer();
    await harness.waitForSpend((c) => c.every((x) => x.reservedNanos === 0) && c.some((x) => x.requests >= 1));
    const after = await fetch(`${harness.gateway.url}/proxy/openai/models`, { headers: { authorization: `Bearer ${key}` } });
    expect(after.status).toBe(200);
  });
});
