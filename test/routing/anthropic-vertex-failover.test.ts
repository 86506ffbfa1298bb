import Anthropic from '@anthropic-ai/sdk';
import { calcPrice, type Usage } from '@pydantic/genai-prices';
import { usdToNanos } from '../../lambda/pricing/money';
import { ANTHROPIC_UPSTREAM_KEY, startFakeAnthropic, type FakeAnthropic } from '../support/fake-anthropic';
import { LOCATION, PROJECT, startFakeGoogle, type FakeGoogle } from '../support/fake-google';
import { startHarness, type Harness } from '../support/harness';
import { serviceAccount } from '../support/vertex-harness';

/**
 * The Pydantic AI Gateway's own recorded case: a routing group `anthropic` = [Anthropic, Claude on
 * Vertex] that falls back to Vertex when Anthropic answers 503, renaming the model as Vertex names it.
 */
const ANTHROPIC_MODEL = 'claude-sonnet-4-20250514';
const VERTEX_MODEL = 'claude-sonnet-4@20250514';
const VERTEX_PATH = `/v1/projects/${PROJECT}/locations/${LOCATION}/publishers/anthropic/models/${VERTEX_MODEL}`;

// The recorded Anthropic message the fake Vertex replays, as genai-prices counts it (see test/google-vertex/claude.test.ts).
const MESSAGE_USAGE: Usage = { input_tokens: 21 + 2188 + 1024, cache_write_tokens: 2188, cache_write_5m_tokens: 1500, cache_write_1h_tokens: 688, cache_read_tokens: 1024, output_tokens: 14 };

function googleNanos(usage: Usage): number {
  const price = calcPrice(usage, ANTHROPIC_MODEL, { providerId: 'google' });
  if (!price) throw new Error('no price');
  return usdToNanos(price.total_price);
}

describe('failover from Anthropic to Claude on Vertex', () => {
  let anthropic: FakeAnthropic;
  let google: FakeGoogle;
  let harness: Harness;
  let key: string;

  beforeAll(async () => {
    const account = serviceAccount();
    anthropic = await startFakeAnthropic();
    google = await startFakeGoogle(account);
    harness = await startHarness({
      config: (openaiBaseUrl) => ({
        providers: {
          openai: { baseUrl: openaiBaseUrl },
          anthropic: { baseUrl: anthropic.baseUrl },
          'vertex-claude': {
            kind: 'google-vertex',
            baseUrl: google.baseUrl,
            credential: { env: 'VERTEX_SA_JSON' },
            options: { project: PROJECT, location: LOCATION, tokenUrl: google.tokenUrl },
          },
        },
        routes: {
          anthropic: {
            members: [
              { provider: 'anthropic', priority: 1 },
              { provider: 'vertex-claude', models: [{ match: 'claude-sonnet-4-(\\d{8})', to: 'claude-sonnet-4@$1' }] },
            ],
          },
        },
      }),
      env: { ANTHROPIC_API_KEY: ANTHROPIC_UPSTREAM_KEY, VERTEX_SA_JSON: account.json },
    });
    key = (await harness.issue()).key;
  });

  afterEach(() => {
    anthropic.reset();
    google.requests.length = 0;
  });

  afterAll(async () => {
    await harness.close();
    await anthropic.close();
    await google.close();
  });

  const client = () => new Anthropic({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/anthropic`, maxRetries: 0 });

  it('serves from Anthropic while it answers', async () => {
    const { response } = await client().messages.create({ model: ANTHROPIC_MODEL, max_tokens: 1024, messages: [{ role: 'user', content: 'Hello, Claude' }] }).withResponse();

    expect(response.headers.get('x-tollgate-provider')).toBe('anthropic');
    expect(anthropic.requests).toHaveLength(1);
    expect(google.requests).toHaveLength(0);
  });

  it('falls back to Vertex on a 503, with the model renamed, billed once at Vertex’s price', async () => {
    // GIVEN Anthropic overloaded
    anthropic.behaviour.error = { status: 503, body: JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }) };
    const before = await harness.store.getSpend({ kind: 'key' });

    // WHEN the Anthropic SDK calls the group
    const { data, response } = await client().messages.create({ model: ANTHROPIC_MODEL, max_tokens: 1024, messages: [{ role: 'user', content: 'Hello, Claude' }] }).withResponse();

    // THEN Vertex answered, as Claude on Vertex is called: model in the path, not the body, rawPredict
    expect(data.content[0]?.type).toBe('text');
    expect(response.headers.get('x-tollgate-provider')).toBe('vertex-claude');
    expect(anthropic.requests).toHaveLength(1);
    const claudeCalls = google.requests.filter((seen) => seen.url.includes('/publishers/anthropic/'));
    expect(claudeCalls.map((seen) => seen.url)).toEqual([`${VERTEX_PATH}:rawPredict`]);
    expect(JSON.parse(claudeCalls[0]?.body.toString('utf8') ?? '{}')).toEqual({
      anthropic_version: 'vertex-2023-10-16',
      max_tokens: 1024,
      messages: [{ role: 'user', content: 'Hello, Claude' }],
    });
    expect(JSON.stringify(claudeCalls[0]?.headers)).not.toContain(key);
    // AND the request is billed once, by Vertex, at Google's Claude rates; nothing stays reserved
    const lifetime = (counters: { period: string; nanos: number; reservedNanos: number; requests: number }[]) => counters.find((counter) => counter.period === 'lifetime');
    const previous = lifetime(before)?.nanos ?? 0;
    const counters = await harness.waitForSpend((all) => (lifetime(all.filter((c) => c.scope.kind === 'key'))?.nanos ?? 0) > previous);
    const settled = lifetime(counters.filter((counter) => counter.scope.kind === 'key'));
    expect((settled?.nanos ?? 0) - previous).toBe(googleNanos(MESSAGE_USAGE));
    expect(settled?.reservedNanos).toBe(0);
    expect(settled?.requests).toBe(2);
  });
});
