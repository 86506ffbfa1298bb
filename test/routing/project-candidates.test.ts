import { parseConfig } from '../../lambda/config/config';
import { GatewayError } from '../../lambda/core/errors';
import { createRouter } from '../../lambda/core/route';
import type { Policy } from '../../lambda/limits/plan';
import { projectAccountSettings, projectCandidates, withProjectAccounts } from '../../lambda/routing/project-accounts';
import type { ProjectAccountRecord } from '../../lambda/store/port';

const config = parseConfig(
  {
    providers: {
      openai: { baseUrl: 'http://127.0.0.1:1/v1' },
      'openai-eu': { kind: 'openai', baseUrl: 'http://127.0.0.1:2/v1', credential: { env: 'OPENAI_EU_KEY' } },
    },
    routes: { pool: { members: [{ provider: 'openai', priority: 2, weight: 3, failoverOn: [404] }, { provider: 'openai-eu', priority: 1 }] } },
  },
  'test',
);
const router = createRouter(config);

const record = (over: Partial<ProjectAccountRecord> = {}): ProjectAccountRecord => ({
  project: 'acme',
  name: 'openai-acme',
  kind: 'openai',
  baseUrl: 'http://127.0.0.1:3/v1',
  credential: { kind: 'sealed', sealed: 'v1:x:y:z' },
  hint: '',
  createdAt: '2026-11-27T10:00:00.000Z',
  ...over,
});

const policy = (project: string, accounts: readonly ProjectAccountRecord[]): Policy => ({
  key: { id: 'k1', hash: 'h', prefix: 'p', project, createdAt: '2026-11-27T10:00:00.000Z' },
  project: undefined,
  user: undefined,
  accounts: accounts.map(projectAccountSettings),
});

const chat = (route: string) => {
  const parsed = router.parse('POST', `/proxy/${route}/chat/completions`);
  if (!parsed) throw new Error('no route');
  return parsed;
};
const names = (candidates: readonly { account: { name: string } }[]) => candidates.map((candidate) => candidate.account.name);

describe('a project’s own accounts among a route’s candidates', () => {
  it('take the place of the gateway’s accounts of their kind, with their place in the route', () => {
    // GIVEN a group of two managed OpenAI accounts, and a project with its own OpenAI account
    const own = projectAccountSettings(record());

    // WHEN the project's key asks for the group
    const candidates = projectCandidates(chat('pool').candidates, [own]);

    // THEN its account stands in once, where the first managed one stood, and no managed account is left
    expect(names(candidates)).toEqual(['openai-acme']);
    expect(candidates[0]?.member).toMatchObject({ account: 'openai-acme', priority: 2, weight: 3 });
    expect([...(candidates[0]?.member.failoverOn ?? [])]).toEqual([404]);
    expect(candidates[0]?.account.credential).toEqual({ kind: 'sealed', sealed: 'v1:x:y:z' });
    expect(candidates[0]?.binding).toBe(chat('pool').candidates[0]?.binding);
  });

  it('keeps every account of the project’s kind, once each', () => {
    const own = [projectAccountSettings(record()), projectAccountSettings(record({ name: 'openai-acme-2' }))];

    expect(names(projectCandidates(chat('pool').candidates, own))).toEqual(['openai-acme', 'openai-acme-2']);
  });

  it('leaves routes of other kinds alone', () => {
    const groq = projectAccountSettings(record({ name: 'groq-acme', kind: 'groq', baseUrl: 'http://127.0.0.1:4' }));

    expect(names(projectCandidates(chat('openai').candidates, [groq]))).toEqual(['openai']);
  });

  it('applies only the key’s own project’s accounts', () => {
    // GIVEN a policy that (against the loader's rule) carries another project's account
    const mixed: Policy = { ...policy('beta', []), accounts: [projectAccountSettings(record())] };

    // THEN beta's key still gets the managed account, and acme's key its own
    expect(names(withProjectAccounts(chat('openai'), mixed).candidates)).toEqual(['openai']);
    expect(names(withProjectAccounts(chat('openai'), policy('acme', [record()])).candidates)).toEqual(['openai-acme']);
  });

  it('refuses, loudly, a stored account this gateway cannot use, rather than falling back to a managed one', () => {
    expect(() => projectAccountSettings(record({ kind: 'nope' }))).toThrow(GatewayError);
    expect(() => projectAccountSettings(record({ baseUrl: 'ftp://example.com' }))).toThrow(/baseUrl: must be an http\(s\) URL/);
    expect(() => projectAccountSettings(record({ kind: 'google-vertex', options: { location: 42 } }))).toThrow(/provider account openai-acme\.options/);
  });
});
