import type { Scope, Store } from '../../lambda/store/port';
import type { Harness } from '../support/harness';
import { CHAT, CHAT_ACTUAL, CHAT_ESTIMATE, estimateFor, gate, limitsHarness, post, storesUnderTest } from './support';

const LEVELS = ['key', 'user', 'project'] as const;
/** A burst of 200 is ~900 store calls on dynalite: 2–8 s measured at load 3–8 on 2 cores; the rest is headroom for a loaded run. */
const BURST_TIMEOUT_MS = 180_000;

describe.each(storesUnderTest())('spend caps on the $name store', (backend) => {
  let store: Store;
  let harness: Harness;
  let key: string;
  let keyId: string;

  beforeEach(async () => {
    store = await backend.open();
    // One key sends all 200 requests at once here: the per-key in-flight ceiling is not what is tested.
    // Each test sets its caps before its first request, so the key's policy is cached as a gateway
    // caches it: a burst reads the key, project and user once, not 200 times. On dynalite those
    // reads were 800 of a burst's ~1,700 calls, all on one event loop, and no part of the race.
    harness = await limitsHarness(store, { limits: { maxConcurrentPerKey: 1_000, keyCacheTtlMs: 60_000 } });
    const issued = await harness.issue();
    key = issued.key;
    keyId = issued.record.id;
  });
  afterEach(async () => {
    await harness.close();
  });
  afterAll(async () => {
    await backend.close();
  });

  async function capAt(level: (typeof LEVELS)[number], monthlyNanos: number): Promise<Scope> {
    if (level === 'key') await store.updateKey(keyId, { limits: { monthly: monthlyNanos } });
    if (level === 'user') await store.updateUser('ada', { limits: { monthly: monthlyNanos } });
    if (level === 'project') await store.updateProject('acme', { limits: { monthly: monthlyNanos } });
    return level === 'key' ? { kind: 'key', id: keyId } : { kind: level, id: level === 'user' ? 'ada' : 'acme' };
  }

  async function monthly(scope: Scope) {
    return (await store.getSpend({ kind: scope.kind, id: scope.id })).find((c) => c.period.startsWith('month:'));
  }

  it.each(LEVELS)('serves exactly as many of 200 concurrent requests as a %s cap holds, and never crosses it', async (level) => {
    // GIVEN a monthly cap that fits five estimates (and half of a sixth), and an upstream that
    // holds every response until all 200 requests have been admitted or refused
    const fits = 5;
    const cap = fits * CHAT_ESTIMATE + Math.floor(CHAT_ESTIMATE / 2);
    const scope = await capAt(level, cap);
    const held = gate();
    harness.upstream.behaviour.hold = held.promise;

    // WHEN 200 requests arrive at once. The gate opens once each has been forwarded or has ended
    // (answered whatever its status, or failed: none can hang the wait, and a failure is the
    // test's error), counted rather than timed: a fixed 15 s wait ran out on a loaded machine.
    let ended = 0;
    const responses = Array.from({ length: 200 }, () =>
      post(harness, key)
        .then(async (response) => {
          await response.arrayBuffer();
          return response.status;
        })
        .finally(() => ended++),
    );
    while (harness.upstream.requests.length + ended < 200) await new Promise((resolve) => setTimeout(resolve, 10));
    held.open();
    const statuses = await Promise.all(responses);

    // THEN exactly five were served, the rest refused, and the settled spend is within the cap
    expect(statuses.filter((s) => s === 200)).toHaveLength(fits);
    expect(statuses.filter((s) => s === 402)).toHaveLength(200 - fits);
    expect(harness.upstream.requests).toHaveLength(fits);
    await harness.waitForSpend((c) => c.some((x) => x.requests === fits) && c.every((x) => x.reservedNanos === 0));
    expect((await monthly(scope))?.nanos).toBe(fits * CHAT_ACTUAL);
    expect((await monthly(scope))?.nanos).toBeLessThanOrEqual(cap);
  }, BURST_TIMEOUT_MS);

  it('refunds the unused part of an estimate when the request settles', async () => {
    // GIVEN a cap that fits one estimate and the actual costs of several requests
    const scope = await capAt('project', CHAT_ESTIMATE + 2 * CHAT_ACTUAL);
    expect(CHAT_ACTUAL).toBeLessThan(CHAT_ESTIMATE);

    // WHEN requests go one after another
    const first = await post(harness, key);
    await first.arrayBuffer();
    await harness.waitForSpend((c) => c.some((x) => x.requests === 1 && x.reservedNanos === 0));

    // THEN the first holds only its actual cost afterwards, so the next estimate fits again
    expect(await monthly(scope)).toMatchObject({ nanos: CHAT_ACTUAL, reservedNanos: 0 });
    const second = await post(harness, key);
    expect(second.status).toBe(200);
    await second.arrayBuffer();
  });

  it('settles a vanished client’s stream at its actual cost, and a cut one at its estimate', async () => {
    const scope = await capAt('key', 1_000 * CHAT_ESTIMATE);
    const streamBody = JSON.stringify({ ...CHAT, stream: true });

    // GIVEN a client that leaves after the first chunk of a stream whose usage comes later
    harness.upstream.behaviour.pauseAfterFirstChunkMs = 200;
    const abort = new AbortController();
    const leaving = await post(harness, key, streamBody, abort.signal);
    await leaving.body!.getReader().read();
    abort.abort();

    // THEN the gateway still reads the usage and settles it, holding nothing back
    const streamActual = (await harness.waitForSpend((c) => c.some((x) => x.requests === 1 && x.reservedNanos === 0)), (await monthly(scope))?.nanos);
    expect(streamActual).toBeGreaterThan(0);
    expect(streamActual).toBeLessThan(CHAT_ESTIMATE);

    // GIVEN an upstream that dies mid-stream
    harness.upstream.reset();
    harness.upstream.behaviour.cutStreamAfterChunks = 2;
    const cut = await post(harness, key, streamBody);
    await cut.arrayBuffer().catch(() => undefined);

    // THEN it is settled too — at the estimate, since its usage never came
    await harness.waitForSpend((c) => c.some((x) => x.requests === 2 && x.reservedNanos === 0));
    expect((await monthly(scope))?.nanos).toBe((streamActual ?? 0) + estimateFor(streamBody));
  });
});
