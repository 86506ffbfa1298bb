import { parseConfig } from '../../lambda/config/config';
import { createRouter } from '../../lambda/core/route';
import type { UpstreamResponse } from '../../lambda/core/upstream';
import { runAttempts, type AttemptSteps, type Planned } from '../../lambda/routing/attempts';
import { CircuitBreaker } from '../../lambda/routing/circuit-breaker';
import { recordingLogger } from '../support/recording-logger';

/**
 * The attempt loop skips the breaker's filter for a route of one member (alone, it is tried
 * whatever its circuit) and copies the order only when a circuit is open. These pin both paths
 * to the behaviour of the general one, so the shortcut cannot drift from it.
 */
const CONFIG = parseConfig(
  {
    providers: {
      a: { kind: 'openai', baseUrl: 'https://a.example/v1', credential: { env: 'A' } },
      b: { kind: 'openai', baseUrl: 'https://b.example/v1', credential: { env: 'B' } },
      c: { kind: 'openai', baseUrl: 'https://c.example/v1', credential: { env: 'C' } },
    },
    routes: { trio: { members: [{ provider: 'a', priority: 3 }, { provider: 'b', priority: 2 }, { provider: 'c', priority: 1 }] } },
  },
  'test',
);

function setUp(failures = 1) {
  const logger = recordingLogger();
  // The clock never moves: an open circuit stays inside its cool-down.
  const breaker = new CircuitBreaker({ failures, cooldownMs: 60_000, clock: () => new Date(0), logger });
  return { logger, breaker, routing: { breaker, random: () => 0, logger } };
}

function candidatesOf(route: string) {
  return createRouter(CONFIG).parse('POST', `/proxy/${route}/chat/completions`)!.candidates;
}

/** Steps whose upstream answers `status(account)`; records who was tried and who answered. */
function steps(status: (account: string) => number) {
  const tried: string[] = [];
  const answered: string[] = [];
  const loop: AttemptSteps<Planned> = {
    plan: async (candidate) => ({ candidate }),
    hold: async () => {},
    letGo: async () => {},
    send: async (plan): Promise<UpstreamResponse> => {
      tried.push(plan.candidate.account.name);
      return { status: status(plan.candidate.account.name), headers: {}, body: noBody(), bytes: async () => new Uint8Array(), discard: async () => {} };
    },
    respond: async (plan, upstream) => {
      answered.push(`${plan.candidate.account.name}:${upstream.status}`);
      return { status: upstream.status, headers: {}, body: noBody() };
    },
    unanswered: async (_plan, error) => {
      throw error;
    },
  };
  return { loop, tried, answered };
}

describe('the attempt loop and open circuits', () => {
  it('still tries a route’s only member while its circuit is open, and its answer closes the circuit', async () => {
    // GIVEN route `a` (one member) whose circuit opened on a 500
    const { logger, breaker, routing } = setUp();
    await runAttempts('a', candidatesOf('a'), steps(() => 500).loop, routing);
    expect(breaker.available('a')).toBe(false);

    // WHEN the next request comes, inside the cool-down
    const next = steps(() => 200);
    const response = await runAttempts('a', candidatesOf('a'), next.loop, routing);

    // THEN it goes to the open member all the same, and the answer closes its circuit
    expect(response.status).toBe(200);
    expect(next.tried).toEqual(['a']);
    expect(logger.lines.filter((event) => event.event === 'circuit_closed').map((event) => event.fields)).toEqual([{ provider: 'a' }]);
    expect(breaker.available('a')).toBe(true);
  });

  it('passes the failure of a lone open member through, and keeps its circuit open without logging it again', async () => {
    const { logger, breaker, routing } = setUp();
    await runAttempts('a', candidatesOf('a'), steps(() => 503).loop, routing);

    const next = steps(() => 503);
    const response = await runAttempts('a', candidatesOf('a'), next.loop, routing);

    expect(response.status).toBe(503);
    expect(next.answered).toEqual(['a:503']);
    expect(logger.lines.filter((event) => event.event === 'circuit_opened')).toHaveLength(1);
    expect(breaker.available('a')).toBe(false);
  });

  it.each([
    ['the first', 'a', ['b', 'c']],
    ['the middle', 'b', ['a', 'c']],
    ['the last', 'c', ['a', 'b']],
  ])('passes by %s member of a group when its circuit is open, and tries the rest in order', async (_where, open, rest) => {
    // GIVEN one member's circuit is open
    const { breaker, routing } = setUp();
    breaker.failed(open);

    // WHEN every member fails
    const next = steps(() => 502);
    await runAttempts('trio', candidatesOf('trio'), next.loop, routing);

    // THEN the open one is not tried, the others are, in priority order
    expect(next.tried).toEqual(rest);
  });

  it('tries every member of a group in order when every circuit is open', async () => {
    const { breaker, routing } = setUp();
    for (const name of ['a', 'b', 'c']) breaker.failed(name);

    const next = steps((account) => (account === 'c' ? 200 : 502));
    const response = await runAttempts('trio', candidatesOf('trio'), next.loop, routing);

    expect(next.tried).toEqual(['a', 'b', 'c']);
    expect(response.status).toBe(200);
  });
});

async function* noBody(): AsyncGenerator<Uint8Array, void, undefined> {}
