import { localSecretKey, sealCredential } from '../../lambda/config/sealed-credentials';
import { sealingContext } from '../../lambda/config/credentials';
import { emfLogger } from '../../lambda/observability/emf';
import { publishedMetrics } from '../../lambda/observability/catalog';
import type { ProjectAccountRecord } from '../../lambda/store/port';
import { refusedOrigin } from '../support/faulty-upstream';
import { UPSTREAM_KEY } from '../support/fake-openai';
import { startHarness, type Harness } from '../support/harness';

const SECRET_KEY = Buffer.alloc(32, 9).toString('base64');

interface Line {
  readonly [member: string]: unknown;
  readonly _aws?: { CloudWatchMetrics: Array<{ Dimensions: string[][]; Metrics: Array<{ Name: string }> }> };
}

/**
 * A project's own accounts are named by the project: one CloudWatch metric per account name would
 * grow the operator's bill with every account any project adds. Their metrics carry the Provider
 * dimension `byok:<kind>`; the logs keep the account's name.
 */
describe('metrics of requests served by projects’ own accounts (BYOK)', () => {
  let harness: Harness;
  let lines: Line[];
  let key: string;

  beforeAll(async () => {
    lines = [];
    harness = await startHarness({
      config: (openaiBaseUrl) => ({ providers: { openai: { baseUrl: openaiBaseUrl } }, routing: { circuitBreakerFailures: 1 } }),
      env: { TOLLGATE_SECRET_KEY: SECRET_KEY },
      logger: emfLogger({ write: (line) => lines.push(JSON.parse(line) as Line) }),
    });
    const secretKey = localSecretKey({ TOLLGATE_SECRET_KEY: SECRET_KEY }, { create: false })!;
    const account = (name: string, kind: string, baseUrl: string): ProjectAccountRecord => ({
      project: 'acme',
      name,
      kind,
      baseUrl,
      credential: { kind: 'sealed', sealed: sealCredential(UPSTREAM_KEY, secretKey, sealingContext({ project: 'acme', name })) },
      hint: '',
      createdAt: new Date().toISOString(),
    });
    await harness.store.createProject({ name: 'acme', createdAt: new Date().toISOString() });
    // One account that serves, one of another kind whose server is down.
    await harness.store.addProjectAccount(account('openai-acme-team-7', 'openai', harness.upstream.baseUrl));
    await harness.store.addProjectAccount(account('claude-acme-team-7', 'anthropic', await refusedOrigin()));
    ({ key } = await harness.issue({ project: 'acme' }));
  });

  afterAll(async () => {
    await harness.close();
  });

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${harness.gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers }, body });
  const withMetrics = (event: string) => lines.filter((line) => line['event'] === event && line._aws !== undefined);
  const until = async (event: string): Promise<Line> => {
    const deadline = Date.now() + 15_000;
    while (withMetrics(event).length === 0) {
      if (Date.now() > deadline) throw new Error(`${event} was never logged`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return withMetrics(event)[0]!;
  };

  it('publishes settled requests, rejections, failed attempts and opened circuits under byok:<kind>, and logs the account by name', async () => {
    // WHEN the project's key is served by its OpenAI account, sends bad JSON to it by name, and tries its Anthropic account, which is down
    const served = await post('/proxy/openai/chat/completions', JSON.stringify({ model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] }));
    await served.text();
    const rejected = await post('/proxy/openai-acme-team-7/chat/completions', '{');
    const failed = await post('/proxy/anthropic/v1/messages', JSON.stringify({ model: 'claude-sonnet-4-20250514', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] }), { 'anthropic-version': '2023-06-01' });

    // THEN each line's metrics name the kind, never the account
    expect([served.status, served.headers.get('x-tollgate-provider'), rejected.status, failed.status]).toEqual([200, 'openai-acme-team-7', 400, 502]);
    const settled = await until('request_settled');
    expect(settled).toMatchObject({ Provider: 'byok:openai', Project: 'acme', provider: 'openai-acme-team-7', byok_project: 'acme', byok_kind: 'openai' });
    // The bad JSON was refused before any account was tried: counted, under no provider.
    expect(withMetrics('request_rejected')[0]).toMatchObject({ Requests: 1, ClientErrors: 1, status: 400 });
    expect(withMetrics('request_rejected')[0]).not.toHaveProperty('Provider');
    // The failed request's rejection names the account tried; its settlement counted it, under byok:<kind>.
    expect(lines.find((line) => line['event'] === 'request_rejected' && line['status'] === 502)).toMatchObject({ provider: 'claude-acme-team-7', byok_kind: 'anthropic', settled: true });
    expect(withMetrics('request_settled').find((line) => line['status'] === 502)).toMatchObject({ Provider: 'byok:anthropic', Requests: 1, ServerErrors: 1 });
    expect(withMetrics('upstream_attempt_failed')[0]).toMatchObject({ Provider: 'byok:anthropic', provider: 'claude-acme-team-7', byok_project: 'acme' });
    expect(withMetrics('circuit_opened')[0]).toMatchObject({ Provider: 'byok:anthropic', provider: 'claude-acme-team-7', byok_project: 'acme' });
    for (const line of lines.filter((each) => each._aws !== undefined)) {
      expect(String(line['Provider'] ?? '')).not.toMatch(/acme-team-7/);
      for (const directive of line._aws!.CloudWatchMetrics) for (const metric of directive.Metrics) expect(publishedMetrics()).toContain(`${metric.Name}|${directive.Dimensions[0]!.join(',')}`);
    }
  });

  it('keeps the account name as the dimension for the gateway’s own accounts', async () => {
    // GIVEN a key of a project with no account of its own
    const other = await harness.issue({ project: 'beta' });
    lines.length = 0;

    // WHEN
    const response = await fetch(`${harness.gateway.url}/proxy/openai/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${other.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] }),
    });
    await response.text();

    // THEN
    const settled = await until('request_settled');
    expect(settled).toMatchObject({ Provider: 'openai', provider: 'openai', Project: 'beta' });
    expect(settled).not.toHaveProperty('byok_kind');
  });
});
