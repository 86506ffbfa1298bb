import { calcPrice } from '@pydantic/genai-prices';
import type { SpendCounter, Store } from '../../lambda/store/port';
import { startFakeOpenAI, UPSTREAM_KEY, type FakeOpenAI } from '../support/fake-openai';
import { gate } from '../support/gate';
import { startHarness, type Harness } from '../support/harness';
import { CHAT_ACTUAL, CHAT_BODY, CHAT_ESTIMATE, storesUnderTest } from '../limits/support';

const BACKUP_KEY = 'sk-upstream-backup-account';
const OVERLOADED = { status: 503, body: '{"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}' };

/**
 * A routing group of two OpenAI accounts, the first preferred, on each store: what a failover
 * reserves, releases and records.
 */
describe.each(storesUnderTest())('failover spend on the $name store', (backend) => {
  let store: Store;
  let harness: Harness;
  let backup: FakeOpenAI;
  let key: string;
  let keyId: string;

  async function start(backupMember: Record<string, unknown> = {}): Promise<void> {
    store = await backend.open();
    backup = await startFakeOpenAI({ key: BACKUP_KEY });
    harness = await startHarness({
      store,
      config: (openaiBaseUrl) => ({
        providers: {
          openai: { baseUrl: openaiBaseUrl },
          'openai-backup': { kind: 'openai', baseUrl: backup.baseUrl, credential: { env: 'BACKUP_KEY' } },
        },
        routes: { pool: { members: [{ provider: 'openai', priority: 1 }, { provider: 'openai-backup', ...backupMember }] } },
        // No key cache: limits set by a test bite on its next request.
        limits: { keyCacheTtlMs: 0 },
        upstream: { firstByteTimeoutMs: 1_000 },
      }),
      env: { OPENAI_API_KEY: UPSTREAM_KEY, BACKUP_KEY },
    });
    const issued = await harness.issue();
    key = issued.key;
    keyId = issued.record.id;
  }

  afterEach(async () => {
    await harness.close();
    await backup.close();
  });
  afterAll(async () => {
    await backend.close();
  });

  function post(): Promise<Response> {
    return fetch(`${harness.gateway.url}/proxy/pool/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: CHAT_BODY,
    });
  }

  /** Every counter of the key, its project and its user, once `requests` requests settled and nothing is held. */
  async function settled(requests: number): Promise<SpendCounter[]> {
    return harness.waitForSpend((all) => {
      const mine = all.filter((c) => c.scope.kind !== 'key' || c.scope.id === keyId);
      return mine.length === 12 && mine.every((c) => c.requests === requests && c.reservedNanos === 0);
    });
  }

  it('bills the request once, at the answering member’s cost, after handing back the failed attempt’s reservation', async () => {
    // GIVEN a daily cap with room for exactly one estimate: a second reservation fits only if the first was handed back
    await start();
    await store.updateKey(keyId, { limits: { daily: CHAT_ESTIMATE } });
    harness.upstream.behaviour.error = OVERLOADED;

    // WHEN
    const response = await post();
    await response.arrayBuffer();

    // THEN the backup answered, and every scope and period counts one request at its actual cost
    expect(response.status).toBe(200);
    expect(response.headers.get('x-tollgate-provider')).toBe('openai-backup');
    const counters = await settled(1);
    expect(counters.filter((c) => c.scope.kind !== 'key' || c.scope.id === keyId).every((c) => c.nanos === CHAT_ACTUAL)).toBe(true);
  });

  it('hands back, and does not charge, an attempt that reached the provider and timed out', async () => {
    // GIVEN a preferred member that takes the request and never answers
    await start();
    const never = gate();
    harness.upstream.behaviour.hold = never.promise;

    // WHEN
    const response = await post();
    await response.arrayBuffer();

    // THEN only the answer is billed (a lone account's timeout would be charged its estimate)
    expect(response.status).toBe(200);
    const counters = await settled(1);
    expect(counters.filter((c) => c.scope.kind !== 'key' || c.scope.id === keyId).every((c) => c.nanos === CHAT_ACTUAL)).toBe(true);
    never.open();
  });

  it('counts a failover as one request against the key’s rate limit', async () => {
    // GIVEN two requests a minute, and a preferred member that always fails
    await start();
    await store.updateKey(keyId, { rateLimits: { requestsPerMinute: 2 } });
    harness.upstream.behaviour.error = OVERLOADED;

    // WHEN three requests each fail over
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await post();
      await response.arrayBuffer();
      statuses.push(response.status);
    }

    // THEN two were served, each counted once, and the third refused by the rate limit
    expect(statuses).toEqual([200, 200, 429]);
    await settled(2);
  });

  it('re-plans the reservation at the next member’s price, and stops when a cap refuses it', async () => {
    // GIVEN a backup that asks its account for a dearer model, and a cap that fits the first member's estimate only
    await start({ models: [{ match: 'gpt-4o', to: 'gpt-4' }] });
    const dearer = calcPrice({ input_tokens: Buffer.byteLength(CHAT_BODY) - 1, output_tokens: 50 }, 'gpt-4', { providerId: 'openai' })?.total_price ?? 0;
    expect(dearer * 1e9).toBeGreaterThan(CHAT_ESTIMATE);
    await store.updateKey(keyId, { limits: { daily: CHAT_ESTIMATE } });
    harness.upstream.behaviour.error = OVERLOADED;

    // WHEN
    const response = await post();
    const body = (await response.json()) as { error: { code: string; message: string } };

    // THEN the cap refused the backup's reservation: it never saw the request, and nothing is held or recorded
    expect(response.status).toBe(402);
    expect(body.error.code).toBe('spend_limit_reached');
    expect(harness.upstream.requests).toHaveLength(1);
    expect(backup.requests).toHaveLength(0);
    const counters = await harness.waitForSpend(() => true);
    expect(counters.every((c) => c.requests === 0 && c.nanos === 0 && c.reservedNanos === 0)).toBe(true);
  });

  it('records a request every member failed as one request, at no cost, with nothing left held', async () => {
    // GIVEN both members overloaded
    await start();
    harness.upstream.behaviour.error = OVERLOADED;
    backup.behaviour.error = OVERLOADED;

    // WHEN
    const response = await post();

    // THEN the last failure reaches the client, and is not billed
    expect(response.status).toBe(503);
    expect(await response.text()).toBe(OVERLOADED.body);
    const counters = await settled(1);
    expect(counters.every((c) => c.nanos === 0)).toBe(true);
  });
});
