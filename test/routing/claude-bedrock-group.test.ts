import Anthropic, { APIError } from '@anthropic-ai/sdk';
import { bedrockFixture } from '../support/bedrock-eventstream';
import { GATEWAY_AWS_CREDENTIALS, REGION } from '../support/bedrock-harness';
import { ANTHROPIC_UPSTREAM_KEY, startFakeAnthropic, type FakeAnthropic } from '../support/fake-anthropic';
import { startFakeBedrock, type FakeBedrock } from '../support/fake-bedrock';
import { startHarness, type Harness } from '../support/harness';

const MESSAGES = [{ role: 'user' as const, content: 'Hi' }];
const RECORDED_BEDROCK = JSON.parse(bedrockFixture('invoke-anthropic.json').toString('utf8')) as Anthropic.Message;

/**
 * A routing group `claude` = [Claude on Bedrock, Anthropic], both serving Anthropic's Messages
 * API: whichever member answers last, the Anthropic SDK gets Anthropic's error shape.
 */
describe('a [bedrock, anthropic] group on the Messages API', () => {
  let anthropic: FakeAnthropic;
  let bedrock: FakeBedrock;
  let harness: Harness;
  let key: string;

  beforeAll(async () => {
    anthropic = await startFakeAnthropic();
    bedrock = await startFakeBedrock({ kind: 'sigv4', credentials: GATEWAY_AWS_CREDENTIALS, region: REGION });
    harness = await startHarness({
      config: (openaiBaseUrl) => ({
        providers: {
          openai: { baseUrl: openaiBaseUrl },
          anthropic: { baseUrl: anthropic.baseUrl },
          bedrock: { baseUrl: bedrock.baseUrl, options: { region: REGION } },
        },
        routes: {
          claude: { members: [{ provider: 'bedrock', priority: 1 }, { provider: 'anthropic' }] },
          'anthropic-first': { members: [{ provider: 'anthropic', priority: 1 }, { provider: 'bedrock' }] },
        },
      }),
      env: {
        ANTHROPIC_API_KEY: ANTHROPIC_UPSTREAM_KEY,
        AWS_ACCESS_KEY_ID: GATEWAY_AWS_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: GATEWAY_AWS_CREDENTIALS.secretAccessKey,
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
    key = (await harness.issue()).key;
  });

  afterEach(() => {
    anthropic.reset();
    bedrock.behaviour = {};
    bedrock.requests.length = 0;
  });

  afterAll(async () => {
    await harness.close();
    await anthropic.close();
    await bedrock.close();
  });

  const client = () => new Anthropic({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/claude`, maxRetries: 0 });

  it('serves from Bedrock first, signed', async () => {
    const { data, response } = await client().messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: MESSAGES }).withResponse();

    expect(data).toEqual(RECORDED_BEDROCK);
    expect(response.headers.get('x-tollgate-provider')).toBe('bedrock');
    expect(bedrock.refusals).toEqual([]);
    expect(anthropic.requests).toHaveLength(0);
  });

  it('every member failing, Bedrock last: its throttling reaches the SDK as Anthropic.RateLimitError', async () => {
    // GIVEN Anthropic overloaded, then Bedrock throttling
    anthropic.behaviour.error = { status: 503, body: JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }) };
    bedrock.behaviour.error = { status: 429, type: 'ThrottlingException', message: 'Too many requests, please wait before trying again.' };
    const anthropicFirst = new Anthropic({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/anthropic-first`, maxRetries: 0 });

    // WHEN
    const failure = await anthropicFirst.messages
      .create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: MESSAGES })
      .catch((error: unknown) => error);

    // THEN the last member's failure, Bedrock's, in Anthropic's shape
    expect(anthropic.requests).toHaveLength(1);
    expect(bedrock.requests).toHaveLength(1);
    expect(bedrock.refusals).toEqual([]);
    expect(failure).toBeInstanceOf(Anthropic.RateLimitError);
    expect((failure as APIError).headers?.get('x-tollgate-provider')).toBe('bedrock');
    expect((failure as APIError).error).toEqual({
      type: 'error',
      error: { type: 'rate_limit_error', message: 'ThrottlingException: Too many requests, please wait before trying again.' },
    });
  });

  it('a model Bedrock has no id for goes on to Anthropic, and a key allowed that model may use it', async () => {
    // GIVEN a key whose allow-list names only the model, as the caller writes it
    const { key: limited } = await harness.issue({ access: { models: ['claude-opus-4-7'] } });
    const scoped = new Anthropic({ apiKey: limited, baseURL: `${harness.gateway.url}/proxy/claude`, maxRetries: 0 });

    // WHEN it asks the [bedrock, anthropic] group for a name the Bedrock table lacks
    const { response } = await scoped.messages.create({ model: 'claude-opus-4-7', max_tokens: 64, messages: MESSAGES }).withResponse();

    // THEN Bedrock is passed by, Anthropic answers
    expect(response.headers.get('x-tollgate-provider')).toBe('anthropic');
    expect(bedrock.requests).toHaveLength(0);
    expect(anthropic.requests).toHaveLength(1);
    expect(JSON.parse(anthropic.requests[0]?.body.toString('utf8') ?? '{}')).toMatchObject({ model: 'claude-opus-4-7' });
  });

  it('count_tokens for such a model goes on to Anthropic too', async () => {
    const counted = await client().messages.countTokens({ model: 'claude-opus-4-7', messages: MESSAGES });

    expect(counted.input_tokens).toEqual(expect.any(Number));
    expect(bedrock.requests).toHaveLength(0);
    expect(anthropic.requests[0]?.url).toBe('/v1/messages/count_tokens');
  });

  it('the allow-list still judges the name the caller sent: a model outside it is refused before any member', async () => {
    const { key: limited } = await harness.issue({ access: { models: ['claude-sonnet-*'] } });
    const scoped = new Anthropic({ apiKey: limited, baseURL: `${harness.gateway.url}/proxy/claude`, maxRetries: 0 });

    const failure = await scoped.messages.create({ model: 'claude-opus-4-7', max_tokens: 64, messages: MESSAGES }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((failure as APIError).error).toMatchObject({ error: { type: 'permission_error', message: expect.stringContaining('may not use model "claude-opus-4-7"') } });
    expect(bedrock.requests).toHaveLength(0);
    expect(anthropic.requests).toHaveLength(0);
  });
});
