import { parseConfig } from '../../lambda/config/config';
import { createRouter } from '../../lambda/core/route';
import type { UpstreamResponse } from '../../lambda/core/upstream';
import { runAttempts, type AttemptSteps, type Planned } from '../../lambda/routing/attempts';
import { CircuitBreaker } from '../../lambda/routing/circuit-breaker';
import { projectCandidates, resolveProjectAccount } from '../../lambda/routing/project-accounts';
import { recordingLogger } from '../support/recording-logger';

/**
 * Project account names are unique within a project only (the CLI allows the same name in two
 * projects), yet the circuit breaker is keyed by account name alone: project A's failing key
 * opens the circuit of project B's own account, and B's requests are sent to the gateway's
 * managed fallback instead (billed on the operator's credential).
 */
describe('circuit breaker and same-named BYOK accounts of two projects (review)', () => {
  it('project A’s failures do not take project B’s own account out of rotation', async () => {
    const config = parseConfig(
      {
        providers: { 'azure-backup': { kind: 'azure-openai', baseUrl: 'https://x.openai.azure.com', credential: { env: 'X' } } },
        routes: { pool: { members: [{ provider: 'openai', priority: 1 }, { provider: 'azure-backup' }] } },
      },
      'test',
    );
    const route = createRouter(config).parse('POST', '/proxy/pool/chat/completions')!;
    const own = (project: string) =>
      resolveProjectAccount({ project, name: 'openai-own', kind: 'openai', credential: { kind: 'sealed', sealed: 'x' }, hint: '', createdAt: '' });
    const forA = projectCandidates(route.candidates, [own('a')]);
    const forB = projectCandidates(route.candidates, [own('b')]);
    const logger = recordingLogger();
    const routing = { breaker: new CircuitBreaker({ failures: 1, cooldownMs: 60_000, clock: () => new Date(0), logger }), random: () => 0, logger };
    const served: string[] = [];
    const steps = (status: (account: string) => number): AttemptSteps<Planned> => ({
      plan: async (candidate) => ({ candidate }),
      hold: async () => {},
      letGo: async () => {},
      send: async (plan): Promise<UpstreamResponse> => ({ status: status(plan.candidate.account.name), headers: {}, body: noBody(), bytes: async () => new Uint8Array(), discard: async () => {} }),
      respond: async (plan, upstream) => {
        served.push(`${plan.candidate.account.project ?? 'managed'}:${plan.candidate.account.name}:${upstream.status}`);
        return { status: upstream.status, headers: {}, body: noBody() };
      },
      unanswered: async (_plan, error) => {
        throw error;
      },
    });
    // Project A's own key is rate limited: its account answers 429 and A fails over.
    await runAttempts('pool', forA, steps((account) => (account === 'openai-own' ? 429 : 200)), routing);
    // Project B's own account is healthy.
    await runAttempts('pool', forB, steps(() => 200), routing);
    expect(served[1]).toBe('b:openai-own:200');
  });
});

async function* noBody(): AsyncGenerator<Uint8Array, void, undefined> {}
