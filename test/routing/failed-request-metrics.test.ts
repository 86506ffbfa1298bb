import { localSecretKey, sealCredential } from '../../lambda/config/sealed-credentials';
import { sealingContext } from '../../lambda/config/credentials';
import { emfLogger } from '../../lambda/observability/emf';
import type { ProjectAccountRecord } from '../../lambda/store/port';
import { refusedOrigin, startFaultyUpstream, type FaultyUpstream } from '../support/faulty-upstream';
import { UPSTREAM_KEY } from '../support/fake-openai';
import { startHarness, type Harness } from '../support/harness';

const SECRET_KEY = Buffer.alloc(32, 9).toString('base64');
const CHAT = JSON.stringify({ model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] });

type Line = Readonly<Record<string, unknown>>;

/**
 * A request that fails once an attempt was settled is logged twice: `request_settled` (its spend,
 * by the meter) and `request_rejected` (its answer, by the gateway). CloudWatch must count it once,
 * and the rejection must name the account that was actually tried.
 */
describe('metrics of a request every member failed', () => {
  let harness: Harness;
  let lines: Line[];
  let broken: FaultyUpstream;

  beforeAll(async () => {
    lines = [];
    const down = [await refusedOrigin(), await refusedOrigin()];
    // Answers 200, then breaks off inside its JSON document.
    broken = await startFaultyUpstream({ kind: 'cut', contentType: 'application/json', chunks: [Buffer.from('{"id":"chatcmpl-1","object":')] });
    harness = await startHarness({
      config: (openaiBaseUrl) => ({
        providers: {
          openai: { baseUrl: openaiBaseUrl },
          'openai-east': { kind: 'openai', baseUrl: `${down[0]}/v1`, credential: { env: 'OPENAI_API_KEY' } },
          'openai-west': { kind: 'openai', baseUrl: `${down[1]}/v1`, credential: { env: 'OPENAI_API_KEY' } },
          'openai-broken': { kind: 'openai', baseUrl: `${broken.origin}/v1`, credential: { env: 'OPENAI_API_KEY' } },
        },
        routes: { pool: { members: [{ provider: 'openai-east', priority: 2 }, { provider: 'openai-west', priority: 1 }] } },
      }),
      env: { TOLLGATE_SECRET_KEY: SECRET_KEY },
      logger: emfLogger({ write: (line) => lines.push(JSON.parse(line) as Line) }),
    });
    const secretKey = localSecretKey({ TOLLGATE_SECRET_KEY: SECRET_KEY }, { create: false })!;
    await harness.store.createProject({ name: 'zeta', createdAt: new Date().toISOString() });
    const record: ProjectAccountRecord = {
      project: 'zeta',
      name: 'openai-zeta',
      kind: 'openai',
      baseUrl: `${await refusedOrigin()}/v1`,
      credential: { kind: 'sealed', sealed: sealCredential(UPSTREAM_KEY, secretKey, sealingContext({ project: 'zeta', name: 'openai-zeta' })) },
      hint: '',
      createdAt: new Date().toISOString(),
    };
    await harness.store.addProjectAccount(record);
  });

  afterAll(async () => {
    await harness.close();
    await broken.close();
  });

  beforeEach(() => {
    lines.length = 0;
  });

  const post = async (route: string, key: string): Promise<number> => {
    const response = await fetch(`${harness.gateway.url}/proxy/${route}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: CHAT,
    });
    await response.arrayBuffer();
    return response.status;
  };
  const sum = (metric: string) => lines.reduce((total, line) => total + (typeof line[metric] === 'number' ? (line[metric] as number) : 0), 0);
  const event = (name: string) => lines.filter((line) => line['event'] === name);

  it('counts a request whose members all refused the connection once, with one server error', async () => {
    // GIVEN a group of two members whose servers refuse connections
    const { key } = await harness.issue();

    // WHEN
    const status = await post('pool', key);

    // THEN the caller gets 502, and CloudWatch one request and one error, however many lines describe it
    expect(status).toBe(502);
    expect(event('upstream_attempt_failed')).toHaveLength(2);
    expect(event('request_settled')).toHaveLength(1);
    expect(event('request_rejected')).toHaveLength(1);
    expect({ requests: sum('Requests'), serverErrors: sum('ServerErrors'), clientErrors: sum('ClientErrors') }).toEqual({ requests: 1, serverErrors: 1, clientErrors: 0 });
  });

  it('counts a request whose answer broke off inside its document once, as a server error', async () => {
    // GIVEN an account that answers 200, then cuts its JSON short
    const { key } = await harness.issue();

    // WHEN
    const status = await post('openai-broken', key);

    // THEN the meter settled it (charged as a response without usage) before the gateway answered 502
    expect(status).toBe(502);
    expect(broken.requests).toHaveLength(1);
    expect(event('request_settled')).toHaveLength(1);
    expect(event('request_rejected')[0]).toMatchObject({ provider: 'openai-broken', status: 502, settled: true });
    expect({ requests: sum('Requests'), serverErrors: sum('ServerErrors') }).toEqual({ requests: 1, serverErrors: 1 });
  });

  it('names the project’s own account it tried in the rejection, not the route’s managed account', async () => {
    // GIVEN a key of a project whose own OpenAI account refuses connections (the route's managed account is healthy)
    const { key } = await harness.issue({ project: 'zeta' });

    // WHEN
    const status = await post('openai', key);

    // THEN the rejection names the account tried, under its BYOK dimension
    expect(status).toBe(502);
    expect(harness.upstream.requests).toHaveLength(0);
    const [rejected] = event('request_rejected');
    expect(rejected).toMatchObject({ provider: 'openai-zeta', byok_project: 'zeta', byok_kind: 'openai', status: 502 });
    expect(event('request_settled')[0]).toMatchObject({ provider: 'openai-zeta', Provider: 'byok:openai' });
    expect(sum('Requests')).toBe(1);
  });

  it('names no account when the request failed before any was tried', async () => {
    // GIVEN
    const { key } = await harness.issue({ project: 'zeta' });

    // WHEN the body is not JSON
    const response = await fetch(`${harness.gateway.url}/proxy/openai/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: '{',
    });
    await response.arrayBuffer();

    // THEN it is counted once, as a client error of no provider
    expect(response.status).toBe(400);
    const [rejected] = event('request_rejected');
    expect(rejected).toMatchObject({ route: 'openai', status: 400 });
    expect(rejected).not.toHaveProperty('provider');
    expect({ requests: sum('Requests'), clientErrors: sum('ClientErrors') }).toEqual({ requests: 1, clientErrors: 1 });
  });
});
