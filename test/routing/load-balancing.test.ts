import { startFakeOpenAI, UPSTREAM_KEY, type FakeOpenAI } from '../support/fake-openai';
import { startHarness, type Harness } from '../support/harness';
import { recordingLogger } from '../support/recording-logger';

const CHAT = JSON.stringify({ model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] });
const OVERLOADED = { status: 503, body: '{"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}' };

/** Three OpenAI accounts, each its own fake with its own key. */
const ACCOUNTS = ['oa-a', 'oa-b', 'oa-spare'] as const;
type Account = (typeof ACCOUNTS)[number];

/** `count` draws spread evenly over [0, 1): each stands for an equal slice of all the draws there could be. */
function evenDraws(count: number): () => number {
  let next = 0;
  return () => ((next++ % count) + 0.5) / count;
}

async function startAccounts(): Promise<Record<Account, FakeOpenAI>> {
  const fakes = await Promise.all(ACCOUNTS.map((name) => startFakeOpenAI({ key: `sk-${name}` })));
  return Object.fromEntries(ACCOUNTS.map((name, at) => [name, fakes[at]])) as Record<Account, FakeOpenAI>;
}

function accountsConfig(fakes: Record<Account, FakeOpenAI>): Record<string, unknown> {
  return Object.fromEntries(ACCOUNTS.map((name) => [name, { kind: 'openai', baseUrl: fakes[name].baseUrl, credential: { env: `KEY_${name.replace('-', '_').toUpperCase()}` } }]));
}

const ACCOUNT_ENV = Object.fromEntries(ACCOUNTS.map((name) => [`KEY_${name.replace('-', '_').toUpperCase()}`, `sk-${name}`]));

async function closeAll(harness: Harness, fakes: Record<Account, FakeOpenAI>): Promise<void> {
  await harness.close();
  await Promise.all(Object.values(fakes).map((fake) => fake.close()));
}

/** Sends `count` chat requests, `parallel` at a time; returns who served each. */
async function sendMany(harness: Harness, key: string, route: string, count: number, parallel = 50): Promise<string[]> {
  const served: string[] = [];
  for (let sent = 0; sent < count; sent += parallel) {
    const batch = Array.from({ length: Math.min(parallel, count - sent) }, async () => {
      const response = await fetch(`${harness.gateway.url}/proxy/${route}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: CHAT,
      });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`request failed with ${response.status}`);
      return response.headers.get('x-tollgate-provider') ?? '';
    });
    served.push(...(await Promise.all(batch)));
  }
  return served;
}

function tally(served: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of served) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

describe('load balancing by weight', () => {
  it('spreads 1,000 requests 3 : 1 over equal-priority members, and never sends one to a weight-0 member while they answer', async () => {
    // GIVEN weights 3 and 1, a weight-0 spare, and draws spread evenly over [0, 1)
    const fakes = await startAccounts();
    const harness = await startHarness({
      config: () => ({
        providers: accountsConfig(fakes),
        routes: { weighted: { members: [{ provider: 'oa-a', weight: 3 }, { provider: 'oa-b', weight: 1 }, { provider: 'oa-spare', weight: 0 }] } },
      }),
      env: ACCOUNT_ENV,
      random: evenDraws(1_000),
    });
    try {
      const { key } = await harness.issue();

      // WHEN
      const served = await sendMany(harness, key, 'weighted', 1_000);

      // THEN exactly in proportion (one draw per request, the draws spread evenly), and the spare idle
      expect(tally(served)).toEqual({ 'oa-a': 750, 'oa-b': 250 });
      expect([fakes['oa-a'].requests.length, fakes['oa-b'].requests.length, fakes['oa-spare'].requests.length]).toEqual([750, 250, 0]);
    } finally {
      await closeAll(harness, fakes);
    }
  }, 60_000);

  it('sends to a weight-0 member only once every weighted member of every priority has failed', async () => {
    // GIVEN a spare of weight 0 at the highest priority, behind two weighted members
    const fakes = await startAccounts();
    const logger = recordingLogger();
    const harness = await startHarness({
      config: () => ({
        providers: accountsConfig(fakes),
        routes: {
          tiers: { members: [{ provider: 'oa-spare', priority: 9, weight: 0 }, { provider: 'oa-a', priority: 1 }, { provider: 'oa-b' }] },
        },
      }),
      env: ACCOUNT_ENV,
      logger,
    });
    try {
      const { key } = await harness.issue();

      // WHEN the first tier answers, then fails; then the second fails too
      const first = await sendMany(harness, key, 'tiers', 1, 1);
      fakes['oa-a'].behaviour.error = OVERLOADED;
      const second = await sendMany(harness, key, 'tiers', 1, 1);
      fakes['oa-b'].behaviour.error = OVERLOADED;
      const third = await sendMany(harness, key, 'tiers', 1, 1);

      // THEN priority 1 serves, then priority 0, and only then the spare
      expect([...first, ...second, ...third]).toEqual(['oa-a', 'oa-b', 'oa-spare']);
      expect(fakes['oa-spare'].requests).toHaveLength(1);
      expect(logger.lines.filter((line) => line.event === 'request_settled').map((line) => line.fields['attempts'])).toEqual([1, 2, 3]);
    } finally {
      await closeAll(harness, fakes);
    }
  });
});

describe('the circuit breaker', () => {
  let now: Date;
  let fakes: Record<Account, FakeOpenAI>;
  let harness: Harness;
  let key: string;
  const logger = recordingLogger();

  beforeEach(async () => {
    now = new Date('2026-11-27T10:00:00Z');
    logger.lines.length = 0;
    fakes = await startAccounts();
    harness = await startHarness({
      config: () => ({
        providers: accountsConfig(fakes),
        routes: { guarded: { members: [{ provider: 'oa-a', priority: 1 }, { provider: 'oa-b' }] } },
        routing: { circuitBreakerFailures: 2, circuitBreakerCooldownMs: 30_000 },
      }),
      env: { OPENAI_API_KEY: UPSTREAM_KEY, ...ACCOUNT_ENV },
      clock: () => now,
      logger,
    });
    ({ key } = await harness.issue());
  });

  afterEach(async () => {
    await closeAll(harness, fakes);
  });

  const events = (name: string) => logger.lines.filter((line) => line.event === name).map((line) => line.fields);

  it('passes a failing member by for its cool-down, then lets one trial through and takes it back when it answers', async () => {
    // GIVEN a first member that fails twice in a row: its circuit opens
    fakes['oa-a'].behaviour.error = OVERLOADED;
    expect(await sendMany(harness, key, 'guarded', 2, 1)).toEqual(['oa-b', 'oa-b']);
    expect(events('circuit_opened')).toEqual([{ provider: 'oa-a', failures: 2, cooldown_ms: 30_000 }]);

    // WHEN requests come during the cool-down
    const during = await sendMany(harness, key, 'guarded', 3, 1);

    // THEN they go straight to the second member: the first is not even asked
    expect(during).toEqual(['oa-b', 'oa-b', 'oa-b']);
    expect(fakes['oa-a'].requests).toHaveLength(2);

    // WHEN the cool-down is over and the member has recovered
    now = new Date(now.getTime() + 30_000);
    fakes['oa-a'].behaviour.error = undefined;
    const after = await sendMany(harness, key, 'guarded', 2, 1);

    // THEN one trial reaches it, it answers, and its circuit closes
    expect(after).toEqual(['oa-a', 'oa-a']);
    expect(events('circuit_closed')).toEqual([{ provider: 'oa-a' }]);
    expect(fakes['oa-a'].requests).toHaveLength(4);
  });

  it('opens again for a whole cool-down when the trial fails', async () => {
    fakes['oa-a'].behaviour.error = OVERLOADED;
    await sendMany(harness, key, 'guarded', 2, 1);
    now = new Date(now.getTime() + 30_000);

    // WHEN the trial fails
    expect(await sendMany(harness, key, 'guarded', 1, 1)).toEqual(['oa-b']);

    // THEN the next requests pass the member by again until another cool-down has passed
    now = new Date(now.getTime() + 29_999);
    await sendMany(harness, key, 'guarded', 1, 1);
    expect(fakes['oa-a'].requests).toHaveLength(3);
    expect(events('circuit_opened').map((fields) => fields['trial'])).toEqual([undefined, true]);
  });

  it('still tries a member whose circuit is open when every member of the route is', async () => {
    // GIVEN the member's circuit is open
    fakes['oa-a'].behaviour.error = OVERLOADED;
    await sendMany(harness, key, 'guarded', 2, 1);
    fakes['oa-a'].behaviour.error = undefined;

    // WHEN a request comes on a route where it is the only member (its account's own route)
    const served = await sendMany(harness, key, 'oa-a', 1, 1);

    // THEN it is tried, answers, and its circuit closes
    expect(served).toEqual(['oa-a']);
    expect(events('circuit_closed')).toEqual([{ provider: 'oa-a' }]);
  });

  it('does not count a member’s own failover statuses against its circuit', async () => {
    // GIVEN a member that fails over on 404 (a model it lacks)
    await harness.close();
    harness = await startHarness({
      config: () => ({
        providers: accountsConfig(fakes),
        routes: { guarded: { members: [{ provider: 'oa-a', priority: 1, failoverOn: [404] }, { provider: 'oa-b' }] } },
        routing: { circuitBreakerFailures: 2, circuitBreakerCooldownMs: 30_000 },
      }),
      env: ACCOUNT_ENV,
      clock: () => now,
      logger,
    });
    ({ key } = await harness.issue());
    fakes['oa-a'].behaviour.error = { status: 404, body: '{"error":{"message":"The model does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}' };

    // WHEN it answers 404 three times
    const served = await sendMany(harness, key, 'guarded', 3, 1);

    // THEN each request failed over, and the member stayed in rotation
    expect(served).toEqual(['oa-b', 'oa-b', 'oa-b']);
    expect(fakes['oa-a'].requests).toHaveLength(3);
    expect(events('upstream_attempt_failed').map((fields) => fields['status'])).toEqual([404, 404, 404]);
    expect(events('circuit_opened')).toEqual([]);
  });
});
