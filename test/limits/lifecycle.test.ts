import { reconcileExpired } from '../../lambda/limits/reconciler';
import { silentLogger, type Logger } from '../../lambda/core/log';
import type { Store } from '../../lambda/store/port';
import type { Harness } from '../support/harness';
import { CHAT, CHAT_ACTUAL, CHAT_BODY, CHAT_ESTIMATE, estimateFor, gate, limitsHarness, post, storesUnderTest } from './support';

interface OpenAIError {
  error: { message: string; code: string };
}

describe.each(storesUnderTest())('limits over time and key lifecycle on the $name store', (backend) => {
  let store: Store;
  let harness: Harness;
  let key: string;
  let keyId: string;
  let now: Date;

  async function start(options: { openai?: Record<string, unknown>; limits?: Record<string, unknown>; logger?: Logger } = {}): Promise<void> {
    store = await backend.open();
    harness = await limitsHarness(store, { clock: () => now, ...options });
    const issued = await harness.issue();
    key = issued.key;
    keyId = issued.record.id;
  }

  beforeEach(() => {
    now = new Date('2026-11-30T23:59:00Z');
  });
  afterEach(async () => {
    await harness.close();
  });
  afterAll(async () => {
    await backend.close();
  });

  async function send(body = CHAT_BODY): Promise<{ status: number; headers: Headers; error?: OpenAIError['error'] }> {
    const response = await post(harness, key, body);
    const text = await response.text();
    return { status: response.status, headers: response.headers, ...(response.status >= 400 && { error: (JSON.parse(text) as OpenAIError).error }) };
  }

  async function settled(requests: number): Promise<void> {
    await harness.waitForSpend((c) => c.some((x) => x.scope.kind === 'key' && x.period === 'lifetime' && x.requests === requests && x.reservedNanos === 0));
  }

  it('resets a daily cap at UTC midnight and a monthly one on the 1st', async () => {
    // GIVEN a daily cap that fits one request, on the last minute of November
    await start();
    await store.updateProject('acme', { limits: { daily: CHAT_ESTIMATE } });

    // WHEN the day's budget is used
    expect((await send()).status).toBe(200);
    await settled(1);
    const refused = await send();

    // THEN the next request is refused, naming the cap and when it resets
    expect(refused.status).toBe(402);
    expect(refused.error?.message).toBe(`project "acme" daily limit $${usd(CHAT_ESTIMATE)} reached (this request may cost up to $${usd(CHAT_ESTIMATE)}); resets 2026-12-01T00:00:00Z`);

    // WHEN the clock passes midnight, which is also the 1st of December
    now = new Date('2026-12-01T00:00:00Z');

    // THEN the day has reset
    expect((await send()).status).toBe(200);
    await settled(2);
    expect((await send()).status).toBe(402);

    // AND a monthly cap that December's spend has reached still binds after the next midnight
    await store.updateUser('ada', { limits: { monthly: CHAT_ESTIMATE + Math.floor(CHAT_ACTUAL / 2) } });
    now = new Date('2026-12-02T00:00:00Z');
    const monthly = await send();
    expect(monthly.error?.message).toMatch(/^user "ada" monthly limit .* reached.*; resets 2027-01-01T00:00:00Z$/);
  });

  it('resets a monthly cap on the 1st at 00:00 UTC', async () => {
    // GIVEN a monthly key cap that fits one request, used on the last minute of November
    await start();
    await store.updateKey(keyId, { limits: { monthly: CHAT_ESTIMATE } });
    expect((await send()).status).toBe(200);
    await settled(1);
    const refused = await send();
    expect(refused.status).toBe(402);
    expect(refused.error?.message).toMatch(/^key "[0-9a-f]{12}" monthly limit .*; resets 2026-12-01T00:00:00Z$/);

    // WHEN the month turns
    now = new Date('2026-12-01T00:00:00Z');

    // THEN the cap has room again, and November's spend stays November's
    expect((await send()).status).toBe(200);
    await settled(2);
    const months = (await store.getSpend({ kind: 'key', id: keyId })).filter((c) => c.period.startsWith('month:'));
    expect(months.map((c) => [c.period, c.nanos])).toEqual([
      ['month:2026-11', CHAT_ACTUAL],
      ['month:2026-12', CHAT_ACTUAL],
    ]);
  });

  it('counts a key’s requests per minute and answers 429 with Retry-After when they run out', async () => {
    await start();
    now = new Date('2026-11-27T10:00:15Z');
    await store.updateKey(keyId, { rateLimits: { requestsPerMinute: 2 } });

    expect((await send()).status).toBe(200);
    expect((await send()).status).toBe(200);
    const limited = await send();

    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('45');
    expect(limited.error?.message).toContain('rate limit of 2 requests per minute');
    now = new Date('2026-11-27T10:01:00Z');
    expect((await send()).status).toBe(200);
    expect(harness.upstream.requests).toHaveLength(3);
  });

  it('counts a stream as in flight until it ends', async () => {
    await start();
    await store.updateKey(keyId, { rateLimits: { concurrent: 1 } });
    const held = gate();
    harness.upstream.behaviour.hold = held.promise;

    const first = post(harness, key, JSON.stringify({ ...CHAT, stream: true }));
    for (const deadline = Date.now() + 5_000; harness.upstream.requests.length === 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 5));
    const second = await send();
    held.open();
    await (await first).arrayBuffer();
    await settled(1);

    expect(second.status).toBe(429);
    expect(second.error?.message).toContain('allows 1 concurrent requests');
    expect((await send()).status).toBe(200);
  });

  it('stops a key that expires, is disabled, or is revoked — and lets a re-enabled one back in', async () => {
    await start();
    now = new Date('2026-11-27T10:00:00Z');

    await store.updateKey(keyId, { expiresAt: '2026-11-27T10:00:00.000Z' });
    expect(await send()).toMatchObject({ status: 401, error: { code: 'expired_api_key' } });
    await store.updateKey(keyId, { expiresAt: '2026-11-28T00:00:00.000Z' });
    expect((await send()).status).toBe(200);

    await store.updateKey(keyId, { disabledAt: now.toISOString() });
    expect(await send()).toMatchObject({ status: 403, error: { code: 'disabled_api_key' } });
    await store.updateKey(keyId, { disabledAt: null });
    expect((await send()).status).toBe(200);

    await store.revokeKey(keyId, now);
    expect(await send()).toMatchObject({ status: 403, error: { code: 'revoked_api_key' } });
    expect(harness.upstream.requests).toHaveLength(2);
  });

  it('reconciles a reservation its gateway never settled, releasing the hold at the estimate', async () => {
    // GIVEN a cap that fits one estimate, held by a request whose gateway then died
    await start({ limits: { reservationTtlSeconds: 60 } });
    now = new Date('2026-11-27T10:00:00Z');
    await store.updateProject('acme', { limits: { monthly: CHAT_ESTIMATE + CHAT_ESTIMATE / 2 } });
    const held = gate();
    harness.upstream.behaviour.hold = held.promise;
    const orphan = post(harness, key).catch(() => undefined);
    for (const deadline = Date.now() + 5_000; harness.upstream.requests.length === 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 5));
    const crashed = (await store.expiredReservations(new Date('2100-01-01T00:00:00Z')))[0];
    expect(crashed).toBeDefined();
    expect((await send()).status).toBe(402);

    // WHEN its expiry passes and the reconciler runs
    expect(await reconcileExpired(store, new Date('2026-11-27T10:00:59Z'), silentLogger)).toBe(0);
    expect(await reconcileExpired(store, new Date('2026-11-27T10:01:00Z'), silentLogger)).toBe(1);

    // THEN the hold is gone, charged at its upper bound, and the late settlement changes nothing
    const month = (await store.getSpend({ kind: 'project', id: 'acme' })).find((c) => c.period === 'month:2026-11');
    expect(month).toMatchObject({ nanos: CHAT_ESTIMATE, reservedNanos: 0, requests: 1 });
    held.open();
    await orphan;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await store.getSpend({ kind: 'project', id: 'acme' })).find((c) => c.period === 'month:2026-11')).toMatchObject({ nanos: CHAT_ESTIMATE, requests: 1 });
  });

  it.each([
    ['a document', CHAT_BODY, '"cached_tokens": 1920'],
    ['a stream', JSON.stringify({ ...CHAT, stream: true }), '"cached_tokens":1024'],
  ])('charges the estimate for usage genai-prices refuses to price in %s, and still answers and settles', async (_kind, body, cached) => {
    // GIVEN an upstream that reports more cached tokens than prompt tokens (calcPrice throws on that)
    await start();
    harness.upstream.behaviour.rewrite = (recorded) => recorded.replace(cached, '"cached_tokens": 5000');

    // WHEN a request is made
    const response = await send(body);
    await settled(1);

    // THEN the client gets the upstream's answer, and the reservation is settled at its estimate
    expect(response.status).toBe(200);
    const day = (await store.getSpend({ kind: 'key', id: keyId })).find((c) => c.period.startsWith('day:'));
    expect(day).toMatchObject({ nanos: estimateFor(body), reservedNanos: 0, requests: 1 });
  });

  it('forwards an unpriced model under the block policy, then blocks the key for the configured time', async () => {
    // GIVEN a provider that lets unpriced models through, then blocks the key that used one
    await start({ openai: { unpriced: 'block', unpricedBlockMinutes: 30 } });
    now = new Date('2026-11-27T10:00:00Z');
    harness.upstream.behaviour.respondAsModel = 'my-mystery-model';

    // WHEN the key calls a model nobody has a price for
    const unpriced = await send(JSON.stringify({ ...CHAT, model: 'my-mystery-model' }));
    await settled(1);

    // THEN that request went through, and the key is blocked until 30 minutes later
    expect(unpriced.status).toBe(200);
    expect(await send()).toMatchObject({ status: 403, error: { code: 'key_blocked' } });
    now = new Date('2026-11-27T10:30:01Z');
    expect((await send()).status).toBe(200);
  });

  it('admits everything in flight under a soft cap: the overshoot it allows, measured', async () => {
    // GIVEN a soft cap that fits 5.5 estimates, and an upstream that holds every response.
    // Arrivals and settlements are counted, never timed: when the gate opened after a fixed wait
    // (15 s), a loaded machine opened it before all 200 had been admitted, and the late ones met
    // settled spend past the cap.
    const settledAll = gate();
    let settledCount = 0;
    const logger: Logger = {
      info: (event) => {
        if (event === 'request_settled' && ++settledCount === 200) settledAll.open();
      },
      error: () => {},
    };
    // One key sends all 200 at once: the per-key in-flight ceiling would refuse most of them first.
    await start({ limits: { maxConcurrentPerKey: 1_000 }, logger });
    await store.updateProject('acme', { mode: 'soft', limits: { monthly: 5 * CHAT_ESTIMATE + CHAT_ESTIMATE / 2 } });
    const held = gate();
    harness.upstream.behaviour.hold = held.promise;

    // WHEN 200 requests are all in flight at once: each has reached the held upstream, or been
    // answered without it (a refusal, which the assertions below report, rather than a hang)
    let answered = 0;
    const responses = Array.from({ length: 200 }, () =>
      post(harness, key).then(async (r) => {
        await r.arrayBuffer();
        answered += 1;
        return r.status;
      }),
    );
    while (harness.upstream.requests.length + answered < 200) await new Promise((r) => setTimeout(r, 10));
    held.open();
    const statuses = await Promise.all(responses);
    await settledAll.promise;

    // THEN soft caps look at settled spend only: with every response held, all 200 got in — 36×
    // the cap's worth of estimates. Once spend settles past the cap, the next request is refused.
    expect(statuses.filter((s) => s === 200)).toHaveLength(200);
    const month = (await store.getSpend({ kind: 'project', id: 'acme' })).find((c) => c.period.startsWith('month:'));
    expect(month?.nanos).toBe(200 * CHAT_ACTUAL);
    expect((await send()).status).toBe(402);
  }, 180_000);
});

function usd(nanos: number): string {
  const whole = Math.floor(nanos / 1e9);
  const fraction = String(nanos % 1e9).padStart(9, '0').replace(/0+$/, '');
  return `${whole}.${fraction.padEnd(2, '0')}`;
}
