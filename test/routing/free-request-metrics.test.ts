import { emfLogger } from '../../lambda/observability/emf';
import { refusedOrigin } from '../support/faulty-upstream';
import { startHarness, type Harness } from '../support/harness';

type Line = Readonly<Record<string, unknown>>;

/**
 * Calls that run no model (model lists, token counts) are requests like any other in CloudWatch:
 * each counted once in `Requests`, with its error class, at no cost, under the dimensions a
 * metered request has — whether or not the key has rate limits to settle.
 */
describe('metrics of a free call', () => {
  let harness: Harness;
  let lines: Line[];

  beforeAll(async () => {
    lines = [];
    const down = await refusedOrigin();
    harness = await startHarness({
      config: (openaiBaseUrl) => ({
        providers: {
          openai: { baseUrl: openaiBaseUrl },
          'openai-down': { kind: 'openai', baseUrl: `${down}/v1`, credential: { env: 'OPENAI_API_KEY' } },
        },
      }),
      logger: emfLogger({ write: (line) => lines.push(JSON.parse(line) as Line) }),
    });
  });

  afterAll(async () => {
    await harness.close();
  });

  beforeEach(() => {
    lines.length = 0;
    harness.upstream.behaviour = {};
  });

  const get = async (path: string, key: string): Promise<number> => {
    const response = await fetch(`${harness.gateway.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
    await response.arrayBuffer();
    return response.status;
  };
  const sum = (metric: string) => lines.reduce((total, line) => total + (typeof line[metric] === 'number' ? (line[metric] as number) : 0), 0);
  /** The request-metric directives of every line, as `Metric|Dim1,Dim2` strings. */
  const published = () =>
    lines.flatMap((line) => {
      const directives = (line['_aws'] as { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] } | undefined)?.CloudWatchMetrics ?? [];
      return directives.flatMap((d) => d.Metrics.map((m) => `${m.Name}|${d.Dimensions[0]!.join(',')}`));
    });
  /** The request's lines are all written by the time its body ended, but settlement may trail the client by a tick. */
  const settled = async (count: number) => {
    const deadline = Date.now() + 5_000;
    while (lines.filter((line) => line['event'] === 'free_request_settled' || line['event'] === 'request_rejected').length < count) {
      if (Date.now() > deadline) throw new Error(`only ${JSON.stringify(lines.map((line) => line['event']))} logged`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };

  it.each([
    ['no rate limits (nothing to settle)', {}],
    ['a rate limit (its claim settled)', { rateLimits: { requestsPerMinute: 100 } }],
  ])('counts a model list by a key with %s once, at no cost, by provider and project', async (_name, request) => {
    // GIVEN
    const { key } = await harness.issue({ project: 'acme', ...request });

    // WHEN
    const status = await get('/proxy/openai/models', key);
    await settled(1);

    // THEN
    expect(status).toBe(200);
    expect(lines.filter((line) => line['event'] === 'free_request_settled')).toHaveLength(1);
    expect({ requests: sum('Requests'), serverErrors: sum('ServerErrors'), clientErrors: sum('ClientErrors'), cost: sum('CostUSD') }).toEqual({
      requests: 1,
      serverErrors: 0,
      clientErrors: 0,
      cost: 0,
    });
    expect(lines.find((line) => line['event'] === 'free_request_settled')).toMatchObject({ Provider: 'openai', Project: 'acme', status: 200, nanos: 0 });
    expect(new Set(published())).toEqual(new Set(['Requests|', 'ServerErrors|', 'ClientErrors|', 'CostUSD|', 'Requests|Provider', 'ServerErrors|Provider', 'ClientErrors|Provider', 'CostUSD|Provider', 'Requests|Project', 'CostUSD|Project']));
  });

  it('counts a provider’s 4xx to a free call once, as a client error', async () => {
    // GIVEN a provider that does not know the model asked about
    const { key } = await harness.issue();
    harness.upstream.behaviour.error = { status: 404, body: '{"error":{"message":"The model does not exist","type":"invalid_request_error"}}' };

    // WHEN
    const status = await get('/proxy/openai/models/gpt-nonexistent', key);
    await settled(1);

    // THEN
    expect(status).toBe(404);
    expect({ requests: sum('Requests'), clientErrors: sum('ClientErrors') }).toEqual({ requests: 1, clientErrors: 1 });
  });

  it('counts a free call whose provider could not be reached once, as a server error, under the account tried', async () => {
    // GIVEN
    const { key } = await harness.issue({ rateLimits: { requestsPerMinute: 100 } });

    // WHEN
    const status = await get('/proxy/openai-down/models', key);
    await settled(2);

    // THEN the gateway's rejection says the request was counted already
    expect(status).toBe(502);
    expect(lines.find((line) => line['event'] === 'free_request_settled')).toMatchObject({ provider: 'openai-down', Provider: 'openai-down', status: 502 });
    expect(lines.find((line) => line['event'] === 'request_rejected')).toMatchObject({ provider: 'openai-down', status: 502, settled: true });
    expect({ requests: sum('Requests'), serverErrors: sum('ServerErrors') }).toEqual({ requests: 1, serverErrors: 1 });
  });

  it('counts the gateway’s own model list once', async () => {
    // GIVEN
    const { key } = await harness.issue();

    // WHEN
    const status = await get('/proxy/models', key);
    await settled(1);

    // THEN
    expect(status).toBe(200);
    expect({ requests: sum('Requests'), clientErrors: sum('ClientErrors'), serverErrors: sum('ServerErrors') }).toEqual({ requests: 1, clientErrors: 0, serverErrors: 0 });
  });

  it('still counts a free call refused by its key’s rate limit once, by its rejection', async () => {
    // GIVEN a key whose one request a minute is spent
    const { key } = await harness.issue({ rateLimits: { requestsPerMinute: 1 } });
    expect(await get('/proxy/openai/models', key)).toBe(200);
    await settled(1);
    lines.length = 0;

    // WHEN
    const status = await get('/proxy/openai/models', key);
    await settled(1);

    // THEN
    expect(status).toBe(429);
    expect(lines.map((line) => line['event'])).toEqual(['request_rejected']);
    expect({ requests: sum('Requests'), clientErrors: sum('ClientErrors') }).toEqual({ requests: 1, clientErrors: 1 });
  });
});
