import Anthropic from '@anthropic-ai/sdk';
import { BedrockRuntimeClient, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { ApiError, GoogleGenAI } from '@google/genai';
import Groq from 'groq-sdk';
import OpenAI from 'openai';
import type { SpendCounter } from '../../lambda/store/port';
import { bedrockFixture, converseStreamFrames } from '../support/bedrock-eventstream';
import { GATEWAY_AWS_CREDENTIALS, REGION } from '../support/bedrock-harness';
import { ANTHROPIC_UPSTREAM_KEY, anthropicFixture, startFakeAnthropic } from '../support/fake-anthropic';
import { startFakeBedrock } from '../support/fake-bedrock';
import { LOCATION, PROJECT, splitAfter, startFakeGoogle, vertexFixture } from '../support/fake-google';
import { GROQ_UPSTREAM_KEY, groqFixture, startFakeGroq } from '../support/fake-groq';
import { fixture, splitEvents, startFakeOpenAI, UPSTREAM_KEY } from '../support/fake-openai';
import { refusedOrigin, startFaultyUpstream, type Fault, type FaultyUpstream } from '../support/faulty-upstream';
import { startHarness, type Harness } from '../support/harness';
import { recordingLogger, type Logged } from '../support/recording-logger';
import type { SeenRequest } from '../support/recording-server';
import { serviceAccount } from '../support/vertex-harness';

/** The first-byte timeout of these gateways: what a hanging member costs before the next is tried. */
const FIRST_BYTE_TIMEOUT_MS = 2_000;

/** A healthy fake provider: it checks the credential and what it receives, and replays recordings. */
interface Healthy {
  readonly baseUrl: string;
  readonly requests: SeenRequest[];
  close(): Promise<void>;
}

/** One API format, with everything a failover test needs to speak it. */
interface FormatCase {
  readonly name: string;
  readonly kind: string;
  /** What follows an origin in an account's base URL (OpenAI's API lives under `/v1`). */
  readonly basePath: string;
  start(): Promise<Healthy>;
  /** The account settings beside `kind` and `baseUrl`, for every account of this case. */
  account(healthy: Healthy): Record<string, unknown>;
  readonly env: Readonly<Record<string, string>>;
  /** The metered request, on the route. */
  readonly path: string;
  readonly body: Record<string, unknown>;
  readonly headers?: Readonly<Record<string, string>>;
  /** The model as the caller names it, and as the healthy member's rewrite asks its account for it. */
  readonly model: string;
  readonly renamed: string;
  modelSeen(request: SeenRequest): string;
  /** What the healthy fake answers for the renamed model. */
  answer(): Buffer;
  /** An error response in the provider's own shape. */
  errorBody(status: number): string;
  /** The first events of a recorded stream: a member that cuts its stream after them. */
  cut(): Extract<Fault, { kind: 'cut' }>;
  /** Reads a stream on `route` with the official SDK; what it threw, and how many events it yielded first. */
  streamWithSdk(gateway: string, route: string, key: string): Promise<{ error: unknown; events: number }>;
  expectStreamError(error: unknown): void;
}

const MESSAGES = [{ role: 'user' as const, content: 'Hi' }];
const openaiError = (status: number) => JSON.stringify({ error: { message: `upstream says ${status}`, type: 'server_error', param: null, code: null } });

async function drain(iterable: AsyncIterable<unknown>): Promise<{ error: unknown; events: number }> {
  let events = 0;
  try {
    for await (const event of iterable) {
      void event;
      events++;
    }
  } catch (error) {
    return { error, events };
  }
  return { error: undefined, events };
}

const CASES: readonly FormatCase[] = [
  {
    name: 'openai',
    kind: 'openai',
    basePath: '/v1',
    start: () => startFakeOpenAI(),
    account: () => ({ credential: { env: 'OPENAI_API_KEY' } }),
    env: {},
    path: '/chat/completions',
    body: { model: 'gpt-4o', max_tokens: 50, messages: MESSAGES },
    model: 'gpt-4o',
    renamed: 'gpt-4o-2024-08-06',
    modelSeen: (request) => String(JSON.parse(request.body.toString('utf8')).model),
    answer: () => fixture('chat.json'),
    errorBody: openaiError,
    cut: () => ({ kind: 'cut', contentType: 'text/event-stream; charset=utf-8', chunks: splitEvents(fixture('chat-stream.sse')).slice(0, 2) }),
    async streamWithSdk(gateway, route, key) {
      const client = new OpenAI({ apiKey: key, baseURL: `${gateway}/proxy/${route}`, maxRetries: 0 });
      return drain(await client.chat.completions.create({ model: 'gpt-4o', messages: MESSAGES, stream: true }));
    },
    expectStreamError(error) {
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect((error as Error).message).toContain('broke off the stream');
    },
  },
  {
    name: 'anthropic',
    kind: 'anthropic',
    basePath: '',
    start: () => startFakeAnthropic(),
    account: () => ({ credential: { env: 'ANTHROPIC_API_KEY' } }),
    env: { ANTHROPIC_API_KEY: ANTHROPIC_UPSTREAM_KEY },
    path: '/v1/messages',
    body: { model: 'claude-sonnet-4-20250514', max_tokens: 1024, messages: MESSAGES },
    headers: { 'anthropic-version': '2023-06-01' },
    model: 'claude-sonnet-4-20250514',
    renamed: 'claude-3-5-haiku-20241022',
    modelSeen: (request) => String(JSON.parse(request.body.toString('utf8')).model),
    answer: () => anthropicFixture('message.json'),
    errorBody: (status) => JSON.stringify({ type: 'error', error: { type: status === 429 ? 'rate_limit_error' : 'overloaded_error', message: `upstream says ${status}` } }),
    cut: () => ({ kind: 'cut', contentType: 'text/event-stream; charset=utf-8', chunks: splitEvents(anthropicFixture('message-stream.sse')).slice(0, 3) }),
    async streamWithSdk(gateway, route, key) {
      const client = new Anthropic({ apiKey: key, baseURL: `${gateway}/proxy/${route}`, maxRetries: 0 });
      return drain(await client.messages.create({ model: 'claude-sonnet-4-20250514', max_tokens: 1024, messages: MESSAGES, stream: true }));
    },
    expectStreamError(error) {
      expect(error).toBeInstanceOf(Anthropic.APIError);
      expect((error as Error).message).toContain('broke off the stream');
    },
  },
  {
    name: 'groq',
    kind: 'groq',
    basePath: '',
    start: () => startFakeGroq(),
    account: () => ({ credential: { env: 'GROQ_API_KEY' } }),
    env: { GROQ_API_KEY: GROQ_UPSTREAM_KEY },
    path: '/openai/v1/chat/completions',
    body: { model: 'llama-3.3-70b-versatile', max_tokens: 50, messages: MESSAGES },
    model: 'llama-3.3-70b-versatile',
    renamed: 'openai/gpt-oss-120b',
    modelSeen: (request) => String(JSON.parse(request.body.toString('utf8')).model),
    answer: () => groqFixture('chat-cached.json'),
    errorBody: openaiError,
    cut: () => ({ kind: 'cut', contentType: 'text/event-stream', chunks: splitEvents(groqFixture('chat-stream.sse')).slice(0, 2) }),
    async streamWithSdk(gateway, route, key) {
      const client = new Groq({ apiKey: key, baseURL: `${gateway}/proxy/${route}`, maxRetries: 0 });
      return drain(await client.chat.completions.create({ model: 'llama-3.3-70b-versatile', messages: MESSAGES, stream: true }));
    },
    expectStreamError(error) {
      expect(error).toBeInstanceOf(Groq.APIError);
      expect((error as Error).message).toContain('broke off the stream');
    },
  },
  {
    name: 'gemini (Vertex)',
    kind: 'google-vertex',
    basePath: '',
    start: () => startFakeGoogle(serviceAccount()),
    account: (healthy) => ({
      credential: { env: 'GOOGLE_APPLICATION_CREDENTIALS_JSON' },
      options: { project: PROJECT, location: LOCATION, tokenUrl: (healthy as Healthy & { tokenUrl: string }).tokenUrl },
    }),
    env: { GOOGLE_APPLICATION_CREDENTIALS_JSON: serviceAccount().json },
    path: `/v1/projects/${PROJECT}/locations/${LOCATION}/publishers/google/models/gemini-2.5-flash:generateContent`,
    body: { contents: [{ role: 'user', parts: [{ text: 'Hi' }] }], generationConfig: { maxOutputTokens: 50 } },
    model: 'gemini-2.5-flash',
    renamed: 'gemini-2.5-pro',
    modelSeen: (request) => /\/models\/([^/:]+):/.exec(request.url)?.[1] ?? '',
    answer: () => vertexFixture('generate-content.json'),
    errorBody: (status) => JSON.stringify({ error: { code: status, message: `upstream says ${status}`, status: status === 429 ? 'RESOURCE_EXHAUSTED' : 'UNAVAILABLE' } }),
    cut: () => ({ kind: 'cut', contentType: 'text/event-stream', chunks: splitAfter(vertexFixture('stream.sse'), '\r\n\r\n').slice(0, 1) }),
    async streamWithSdk(gateway, route, key) {
      const ai = new GoogleGenAI({ vertexai: true, project: 'callers-own', location: 'us-east1', apiKey: key, httpOptions: { baseUrl: `${gateway}/proxy/${route}` } });
      return drain(await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'Hi' }));
    },
    expectStreamError(error) {
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).status).toBe(502);
      expect((error as Error).message).toContain('broke off the stream');
    },
  },
  {
    name: 'bedrock',
    kind: 'bedrock',
    basePath: '',
    start: () => startFakeBedrock({ kind: 'sigv4', credentials: GATEWAY_AWS_CREDENTIALS, region: REGION }),
    account: () => ({ options: { region: REGION } }),
    env: {
      AWS_ACCESS_KEY_ID: GATEWAY_AWS_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: GATEWAY_AWS_CREDENTIALS.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    path: `/model/${encodeURIComponent('anthropic.claude-3-5-sonnet-20240620-v1:0')}/converse`,
    body: { messages: [{ role: 'user', content: [{ text: 'Hi' }] }], inferenceConfig: { maxTokens: 50 } },
    model: 'anthropic.claude-3-5-sonnet-20240620-v1:0',
    renamed: 'us.anthropic.claude-3-5-sonnet-20240620-v1:0',
    modelSeen: (request) => decodeURIComponent(request.url.split('/')[2] ?? ''),
    answer: () => bedrockFixture('converse.json'),
    errorBody: (status) => JSON.stringify({ message: `upstream says ${status}` }),
    cut: () => ({ kind: 'cut', contentType: 'application/vnd.amazon.eventstream', chunks: converseStreamFrames().slice(0, 2) }),
    async streamWithSdk(gateway, route, key) {
      const client = new BedrockRuntimeClient({ endpoint: `${gateway}/proxy/${route}`, region: REGION, token: { token: key }, authSchemePreference: ['httpBearerAuth'] });
      try {
        const output = await client.send(new ConverseStreamCommand({ modelId: 'anthropic.claude-3-5-sonnet-20240620-v1:0', messages: [{ role: 'user', content: [{ text: 'Hi' }] }] }));
        if (!output.stream) throw new Error('ConverseStream returned no stream');
        return await drain(output.stream);
      } finally {
        client.destroy();
      }
    },
    expectStreamError(error) {
      expect((error as Error).name).toBe('ServiceUnavailableException');
      expect((error as Error).message).toContain('broke off the stream');
    },
  },
];

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe.each(CASES)('failover on $name', (format) => {
  const logger = recordingLogger();
  let harness: Harness;
  let healthy: Healthy;
  let flaky: FaultyUpstream;
  let flaky2: FaultyUpstream;
  const names = {
    refused: `${format.kind}-refused`,
    flaky: `${format.kind}-flaky`,
    flaky2: `${format.kind}-flaky2`,
    good: `${format.kind}-good`,
  };

  beforeAll(async () => {
    healthy = await format.start();
    flaky = await startFaultyUpstream();
    flaky2 = await startFaultyUpstream();
    const refused = await refusedOrigin();
    const account = (baseUrl: string) => ({ kind: format.kind, baseUrl, ...format.account(healthy) });
    const renames = [{ match: escaped(format.model), to: format.renamed }];
    harness = await startHarness({
      config: () => ({
        providers: {
          [names.refused]: account(`${refused}${format.basePath}`),
          [names.flaky]: account(`${flaky.origin}${format.basePath}`),
          [names.flaky2]: account(`${flaky2.origin}${format.basePath}`),
          [names.good]: account(healthy.baseUrl),
        },
        routes: {
          pool: { members: [{ provider: names.flaky, priority: 1 }, { provider: names.good, models: renames }] },
          refusing: { members: [{ provider: names.refused, priority: 1 }, { provider: names.good, models: renames }] },
          doomed: { members: [{ provider: names.flaky, priority: 1 }, { provider: names.flaky2 }] },
        },
        upstream: { firstByteTimeoutMs: FIRST_BYTE_TIMEOUT_MS },
        // These tests fail the same member again and again: its circuit must stay closed here.
        routing: { circuitBreakerFailures: 1_000 },
      }),
      env: { OPENAI_API_KEY: UPSTREAM_KEY, ...format.env },
      logger,
    });
  });

  afterEach(() => {
    healthy.requests.length = 0;
    flaky.requests.length = 0;
    flaky2.requests.length = 0;
    logger.lines.length = 0;
  });

  afterAll(async () => {
    await harness.close();
    await Promise.all([healthy.close(), flaky.close(), flaky2.close()]);
  });

  async function send(route: string, key: string): Promise<Response> {
    return fetch(`${harness.gateway.url}/proxy/${route}${format.path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...format.headers },
      body: JSON.stringify(format.body),
    });
  }

  /** The key's lifetime counter once its one request settled, and the settled log line (which follows the write). */
  async function settled(keyId: string): Promise<{ counter: SpendCounter; line: Logged }> {
    const isMine = (c: SpendCounter) => c.scope.kind === 'key' && c.scope.id === keyId && c.period === 'lifetime' && c.requests > 0 && c.reservedNanos === 0;
    const counters = await harness.waitForSpend((all) => all.some(isMine));
    const deadline = Date.now() + 5_000;
    for (;;) {
      const line = logger.lines.find((l) => l.event === 'request_settled' && l.fields['key_id'] === keyId);
      if (line) return { counter: counters.find(isMine)!, line };
      if (Date.now() > deadline) throw new Error('request_settled was never logged');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  const failures = () => logger.lines.filter((line) => line.event === 'upstream_attempt_failed').map((line) => line.fields);

  it.each([
    ['a refused connection', 'refusing', undefined, { error: 'upstream_unreachable' }],
    ['no response within the first-byte timeout', 'pool', { kind: 'hang' }, { error: 'upstream_timeout' }],
    ['429', 'pool', 429, { status: 429 }],
    ['500', 'pool', 500, { status: 500 }],
    ['503', 'pool', 503, { status: 503 }],
  ] as const)('fails over on %s to the next member, which serves it under its own model name and bills it once', async (_what, route, fault, logged) => {
    // GIVEN a first member that fails this way, and a healthy second one that renames the model
    if (typeof fault === 'number') flaky.fault = { kind: 'status', status: fault, body: format.errorBody(fault) };
    else if (fault) flaky.fault = fault;
    const { key, record } = await harness.issue();

    // WHEN
    const response = await send(route, key);

    // THEN the second member's answer reaches the client as it sent it, and says who served it
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(format.answer())).toBe(true);
    expect(response.headers.get('x-tollgate-provider')).toBe(names.good);
    // AND each member was asked once, in priority order, the second for its own name of the model
    expect(flaky.requests.map(format.modelSeen)).toEqual(route === 'refusing' ? [] : [format.model]);
    expect(healthy.requests.map(format.modelSeen)).toEqual([format.renamed]);
    // AND the failed attempt is logged once, and the request is settled once, by the member that answered
    const first = route === 'refusing' ? names.refused : names.flaky;
    expect(failures()).toEqual([{ route, provider: first, attempt: 1, ...logged }]);
    const { counter, line } = await settled(record.id);
    expect(line.fields).toMatchObject({ provider: names.good, attempts: 2, status: 200, priced: true });
    expect(line.fields['nanos']).toBeGreaterThan(0);
    expect(counter).toMatchObject({ requests: 1, nanos: line.fields['nanos'], reservedNanos: 0 });
    expect(logger.lines.filter((l) => l.event === 'request_settled')).toHaveLength(1);
  });

  it('passes the last member’s failure through as the provider sent it, and bills nothing', async () => {
    // GIVEN two members that both fail
    flaky.fault = { kind: 'status', status: 503, body: format.errorBody(503) };
    flaky2.fault = { kind: 'status', status: 429, body: format.errorBody(429) };
    const { key, record } = await harness.issue();

    // WHEN
    const response = await send('doomed', key);

    // THEN the client gets the last member's answer, byte for byte
    expect(response.status).toBe(429);
    expect(await response.text()).toBe(format.errorBody(429));
    expect(response.headers.get('x-tollgate-provider')).toBe(names.flaky2);
    expect(failures()).toEqual([
      { route: 'doomed', provider: names.flaky, attempt: 1, status: 503 },
      { route: 'doomed', provider: names.flaky2, attempt: 2, status: 429 },
    ]);
    const { counter, line } = await settled(record.id);
    expect(line.fields).toMatchObject({ provider: names.flaky2, attempts: 2, status: 429, nanos: 0 });
    expect(counter).toMatchObject({ requests: 1, nanos: 0, reservedNanos: 0 });
  });

  it('ends a stream cut after its first events with an error the official SDK raises, and bills it once', async () => {
    // GIVEN a first member that answers, streams a few events, then drops the connection
    flaky.fault = format.cut();
    const { key, record } = await harness.issue();

    // WHEN the official SDK reads the stream
    const { error, events } = await format.streamWithSdk(harness.gateway.url, 'pool', key);

    // THEN it raised an error after the events that came: no clean end, and no failover once bytes were sent
    format.expectStreamError(error);
    expect(events).toBeGreaterThan(0);
    expect(flaky.requests).toHaveLength(1);
    expect(healthy.requests).toHaveLength(0);
    // AND the request was billed once, by the member that streamed, as a broken stream
    const { counter, line } = await settled(record.id);
    expect(line.fields).toMatchObject({ provider: names.flaky, attempts: 1, outcome: 'upstream-failed' });
    expect(line.fields['nanos']).toBeGreaterThan(0);
    expect(counter).toMatchObject({ requests: 1, nanos: line.fields['nanos'], reservedNanos: 0 });
  });
});

describe('a Gemini stream sent as a JSON array (no alt=sse), cut mid-way', () => {
  it('ends with an error element and closes the array, so the client reads a whole array ending in the error', async () => {
    // GIVEN
    const flaky = await startFaultyUpstream({ kind: 'cut', contentType: 'application/json; charset=UTF-8', chunks: splitAfter(vertexFixture('stream.json'), '\n,\r\n').slice(0, 1) });
    const google = await startFakeGoogle(serviceAccount());
    const options = { project: PROJECT, location: LOCATION, tokenUrl: google.tokenUrl };
    const harness = await startHarness({
      config: () => ({ providers: { 'google-vertex': { baseUrl: flaky.origin, options } } }),
      env: { GOOGLE_APPLICATION_CREDENTIALS_JSON: serviceAccount().json },
    });
    try {
      const { key } = await harness.issue();

      // WHEN
      const response = await fetch(`${harness.gateway.url}/proxy/google-vertex/v1/projects/p/locations/l/publishers/google/models/gemini-2.5-flash:streamGenerateContent`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] }),
      });

      // THEN
      const elements = JSON.parse(await response.text()) as Record<string, unknown>[];
      expect(elements).toHaveLength(2);
      expect(elements[0]).toMatchObject({ modelVersion: 'gemini-2.5-pro' });
      expect(elements[1]).toEqual({ error: { code: 502, message: expect.stringContaining('broke off the stream'), status: 'UNAVAILABLE' } });
    } finally {
      await harness.close();
      await flaky.close();
      await google.close();
    }
  });
});
