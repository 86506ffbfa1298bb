import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { SETTLE_MARGIN_MS } from '../../lambda/handlers/env';
import { runPriceRefresh } from '../../lambda/handlers/price-refresh';
import { issueKey, type IssuedKey } from '../../lambda/keys/issue-key';
import { publishedMetrics } from '../../lambda/observability/catalog';
import { dynamoPriceStore } from '../../lambda/prices/dynamodb-store';
import type { PriceStore } from '../../lambda/prices/store';
import type { StreamingHandler } from '../../lambda/server/lambda-stream';
import { openDynamoStore } from '../../lambda/store/dynamodb';
import type { SpendCounter, Store } from '../../lambda/store/port';
import { startDynalite, type LocalDynamo } from '../support/dynalite';
import { fixture, startFakeOpenAI, UPSTREAM_KEY, type FakeOpenAI } from '../support/fake-openai';
import { samplePriceData, withPrice } from '../prices/price-data';
import { startFakePriceSource, startFakeSecretsManager, startRecordingProxy, type FakeSecretsManager, type Listening } from './support/aws-fakes';
import { functionUrlEvent, installRuntimeStandIn, invoke, PRELUDE_CONTENT_TYPE } from './support/streaming-runtime';
import { setProcessEnv } from './support/process-env';

const SECRET_ID = 'tollgate/test/providers';
const NAMESPACE = 'TollgateTest';

describe('the Lambda proxy handler, through a stand-in for the streaming runtime', () => {
  let dynamo: LocalDynamo;
  let recorder: Listening;
  let secrets: FakeSecretsManager;
  let upstream: FakeOpenAI;
  let store: Store;
  let handler: StreamingHandler<LambdaFunctionURLEvent>;
  let issued: IssuedKey;
  let stdout: string[];
  let restore: Array<() => void>;
  let loadedAt: number;
  let priceStore: PriceStore;

  beforeAll(async () => {
    dynamo = await startDynalite();
    const tables = await dynamo.createTables();
    const pricesTable = `${tables.keysTable}-prices`;
    await dynamo.client.send(
      new CreateTableCommand({ TableName: pricesTable, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] }),
    );
    priceStore = dynamoPriceStore({ client: dynamo.client, table: pricesTable });
    recorder = await startRecordingProxy(dynamo.endpoint);
    secrets = await startFakeSecretsManager({ [SECRET_ID]: { SecretString: JSON.stringify({ openai: UPSTREAM_KEY }) } });
    upstream = await startFakeOpenAI();
    store = openDynamoStore({ client: dynamo.client, ...tables });
    issued = await issueKey(store, { project: 'acme', user: 'ada' });

    // The stack's environment, with the SDK's own endpoint overrides pointing at the fakes.
    const env: Record<string, string> = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'tollgate-test',
      AWS_SECRET_ACCESS_KEY: 'tollgate-test',
      AWS_ENDPOINT_URL_DYNAMODB: recorder.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      TOLLGATE_KEYS_TABLE: tables.keysTable,
      TOLLGATE_SPEND_TABLE: tables.spendTable,
      TOLLGATE_PRICES_TABLE: pricesTable,
      TOLLGATE_METRICS_NAMESPACE: NAMESPACE,
      TOLLGATE_CONFIG_JSON: JSON.stringify({ providers: { openai: { baseUrl: upstream.baseUrl, credential: { secret: SECRET_ID, field: 'openai' } } } }),
    };
    restore = [setProcessEnv(env), installRuntimeStandIn()];
    stdout = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(String(chunk));
      return true;
    });
    restore.push(() => spy.mockRestore());

    // Cold start: the module runs its init exactly as Lambda would load it.
    loadedAt = performance.now();
    handler = coldStart();
  });

  /** A new sandbox: the handler module loaded afresh, with its own module-scope state. */
  const coldStart = (): StreamingHandler<LambdaFunctionURLEvent> => {
    let loaded: StreamingHandler<LambdaFunctionURLEvent> | undefined;
    jest.isolateModules(() => {
      loaded = (require('../../lambda/handlers/proxy') as { handler: StreamingHandler<LambdaFunctionURLEvent> }).handler;
    });
    return loaded!;
  };

  afterAll(async () => {
    for (const undo of restore.reverse()) undo();
    await upstream.close();
    await secrets.close();
    await recorder.close();
    await dynamo.close();
  });

  beforeEach(() => upstream.reset());

  const chat = (body: object, headers: Record<string, string> = {}) =>
    functionUrlEvent({
      path: '/proxy/openai/chat/completions',
      headers: { authorization: `Bearer ${issued.key}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const keyCounters = async (): Promise<SpendCounter[]> => (await store.getSpend({ kind: 'key', id: issued.record.id })).filter((c) => c.period === 'lifetime');
  /** `GetItem keys`, `PutItem spend`, …: what reached DynamoDB in a time window. */
  const callsBetween = (from: number, to: number) =>
    recorder.calls
      .filter((call) => call.at >= from && call.at < to)
      .map((call) => {
        const table = String((JSON.parse(call.body) as { TableName?: string }).TableName);
        const kind = table.endsWith('-prices') ? 'prices' : table.startsWith('tollgate-keys') ? 'keys' : 'spend';
        return `${call.target.replace('DynamoDB_20120810.', '')} ${kind}`;
      });
  const emfLines = () =>
    stdout
      .join('')
      .split('\n')
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, unknown> & { _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> } });

  it('streams a completion incrementally, settles its spend before the invocation returns, and reports the round trips before the first byte', async () => {
    // GIVEN an upstream that pauses after its first event
    upstream.behaviour = { pauseAfterFirstChunkMs: 300 };
    const before = (await keyCounters())[0]?.nanos ?? 0;

    // WHEN a streamed chat completion goes through the handler (the sandbox's first invocation)
    const cold = await invoke(handler, chat({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'Hi' }] }));

    // THEN the prelude carried the upstream's status and headers, and the body is the recording, byte for byte
    expect(cold.error).toBeUndefined();
    expect(cold.ended).toBe(true);
    expect(cold.stream.contentType).toBe(PRELUDE_CONTENT_TYPE);
    const response = cold.stream.response();
    expect(response.prelude.statusCode).toBe(200);
    expect(response.prelude.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(response.prelude.cookies).toEqual([]);
    expect(response.body.equals(fixture('chat-stream.sse'))).toBe(true);

    // AND it arrived incrementally: the first event well before the rest, and before the handler returned
    const writes = response.bodyWrites;
    expect(writes.length).toBeGreaterThanOrEqual(2);
    expect(writes[0]!.bytes.toString('utf8')).toMatch(/^data: \{.*\}\n\n$/);
    expect(writes.at(-1)!.at - writes[0]!.at).toBeGreaterThanOrEqual(250);
    expect(cold.returnedAt - writes[0]!.at).toBeGreaterThanOrEqual(250);

    // AND the spend was already in DynamoDB when the invocation returned: no stray promise left behind
    const lifetime = await keyCounters();
    expect(lifetime).toHaveLength(1);
    expect(lifetime[0]!.requests).toBe(1);
    expect(lifetime[0]!.nanos).toBeGreaterThan(before);
    expect(recorder.calls.filter((call) => call.at > cold.returnedAt)).toEqual([]);

    // AND before its first byte, the cold start read the stored prices (init), the key with its
    // project, user and the project's own provider accounts (those three at once), and wrote the reservation
    const coldTrips = callsBetween(loadedAt, response.firstByteAt!);
    expect([...coldTrips].sort()).toEqual(['GetItem keys', 'GetItem keys', 'GetItem keys', 'GetItem keys', 'GetItem prices', 'PutItem spend']);

    // WHEN a second request reaches the warm sandbox
    upstream.reset();
    const warm = await invoke(handler, chat({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'Hi' }] }));
    const warmTrips = callsBetween(warm.startedAt, warm.stream.response().firstByteAt!);

    // THEN only the reservation stands between the request and its first byte (the key record is cached)
    process.stderr.write(`store round trips before the first byte: cold ${coldTrips.length} (${coldTrips.join(', ')}), warm ${warmTrips.length} (${warmTrips.join(', ')})\n`);
    expect(warmTrips).toEqual(['PutItem spend']);
    expect((await keyCounters())[0]!.requests).toBe(2);
  });

  it('reads the provider secret once for many requests and never logs it', async () => {
    // GIVEN the sandbox already served requests (above, or now)
    await invoke(handler, chat({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }));

    // WHEN more requests follow within the cache's TTL
    for (let i = 0; i < 3; i++) await invoke(handler, chat({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }));

    // THEN Secrets Manager was asked once, the upstream got the secret's credential, and no log line holds it
    expect(secrets.calls.map((call) => call.target)).toEqual(['secretsmanager.GetSecretValue']);
    expect(upstream.requests.every((request) => request.headers.authorization === `Bearer ${UPSTREAM_KEY}`)).toBe(true);
    expect(stdout.join('')).not.toContain(UPSTREAM_KEY);
    expect(stdout.join('')).not.toContain(issued.key);
  });

  it('answers a non-streamed request with the cost headers and no content-length in the prelude', async () => {
    // WHEN
    const result = await invoke(handler, chat({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }));

    // THEN
    const { prelude, body } = result.stream.response();
    expect(prelude.statusCode).toBe(200);
    expect(prelude.headers['x-tollgate-cost-usd']).toBe('0.002715');
    expect(prelude.headers['content-length']).toBeUndefined();
    expect(body.equals(fixture('chat.json'))).toBe(true);
  });

  it('emits EMF metrics for settled requests with exactly the catalogued dimension sets', async () => {
    // GIVEN
    stdout.length = 0;

    // WHEN
    await invoke(handler, chat({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }));

    // THEN one settled line carries the cost in USD and its metrics under the catalogued sets only
    const settled = emfLines().filter((line) => line['event'] === 'request_settled');
    expect(settled).toHaveLength(1);
    const line = settled[0]!;
    expect(line).toMatchObject({ Provider: 'openai', Project: 'acme', Model: 'gpt-4o-2024-08-06', Requests: 1, ServerErrors: 0, ClientErrors: 0, CostUSD: 0.002715, InputTokens: 2006, OutputTokens: 10 });
    const emitted = line._aws.CloudWatchMetrics.flatMap((directive) => directive.Metrics.map((metric) => `${metric.Name}|${directive.Dimensions[0]!.join(',')}`));
    expect(line._aws.CloudWatchMetrics.every((directive) => directive.Namespace === NAMESPACE && directive.Dimensions.length === 1)).toBe(true);
    for (const metric of emitted) expect(publishedMetrics()).toContain(metric);
    expect(emitted).toEqual(expect.arrayContaining(['CostUSD|Project', 'CostUSD|Provider,Model', 'Requests|', 'LatencyMs|', 'ServerErrors|']));
  });

  it('renders a gateway error in the API shape, with its status in the prelude and a request_rejected metric', async () => {
    // GIVEN
    stdout.length = 0;

    // WHEN a request comes with a key that does not exist
    const result = await invoke(handler, chat({ model: 'gpt-4o', messages: [] }, { authorization: 'Bearer tgk_nosuchkey_secret' }));

    // THEN
    const { prelude, body } = result.stream.response();
    expect(prelude.statusCode).toBe(401);
    expect(prelude.headers['x-tollgate-error']).toBe('invalid_api_key');
    expect(JSON.parse(body.toString('utf8'))).toMatchObject({ error: { code: 'invalid_api_key' } });
    // (no provider was tried, so none is named)
    const rejected = emfLines().find((line) => line['event'] === 'request_rejected');
    expect(rejected).toMatchObject({ Requests: 1, ClientErrors: 1, ServerErrors: 0 });
    expect(rejected).not.toHaveProperty('Provider');
  });

  it('decodes a base64-encoded body', async () => {
    // GIVEN a function URL event whose body Lambda base64-encoded
    const event = functionUrlEvent({
      path: '/proxy/openai/chat/completions',
      headers: { authorization: `Bearer ${issued.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }),
      base64: true,
    });

    // WHEN
    const result = await invoke(handler, event);

    // THEN the upstream saw the decoded JSON
    expect(result.stream.response().prelude.statusCode).toBe(200);
    expect(JSON.parse(upstream.requests[0]!.body.toString('utf8'))).toMatchObject({ model: 'gpt-4o' });
  });

  it('cuts the response when the upstream breaks mid-stream, after recording what was spent', async () => {
    // GIVEN an upstream that dies inside its third event, where no error event can follow
    upstream.behaviour = { cutStreamAfterChunks: 2, cutMidEvent: true };
    const before = (await keyCounters())[0]!.requests;

    // WHEN
    const result = await invoke(handler, chat({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'Hi' }] }));

    // THEN the handler rejected without ending the stream (the runtime cuts it), and the request was recorded first
    expect(result.error).toBeDefined();
    expect(result.ended).toBe(false);
    expect(result.stream.response().prelude.statusCode).toBe(200);
    expect((await keyCounters())[0]!.requests).toBe(before + 1);
  });

  it('stops a stream still running near the function timeout, records its spend and cuts the response, instead of being killed unsettled', async () => {
    // GIVEN a stream whose upstream goes silent after its first event, in an invocation with 400 ms left before its settle margin
    let release = () => {};
    upstream.behaviour = { holdAfterFirstChunk: new Promise<void>((resolve) => (release = resolve)) };
    const before = (await keyCounters())[0] ?? { requests: 0, nanos: 0 };
    stdout.length = 0;

    try {
      // WHEN
      const result = await invoke(handler, chat({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'Hi' }] }), { remainingMs: SETTLE_MARGIN_MS + 400 });

      // THEN the invocation ended at its deadline, not when the upstream would have, the stream closing with
      // the API's own error event after the chunk that did arrive, naming the gateway's time limit
      expect(result.returnedAt - result.startedAt).toBeLessThan(SETTLE_MARGIN_MS);
      expect(result.error).toBeUndefined();
      const response = result.stream.response();
      expect(response.prelude.statusCode).toBe(200);
      const body = response.body.toString('utf8');
      expect(body).toContain('"chat.completion.chunk"');
      expect(body).toMatch(/data: \{"error":\{"message":"The gateway's time limit for this request ran out; the response is incomplete\."/);
      expect(body).not.toContain('[DONE]');
      // AND the request was settled before it returned: charged its reservation, since its usage never arrived
      const settled = emfLines().find((line) => line['event'] === 'request_settled')!;
      expect(settled).toMatchObject({ outcome: 'upstream-failed' });
      expect(settled['nanos']).toBe(settled['estimate_nanos']);
      const after = (await keyCounters())[0]!;
      expect(after.requests).toBe(before.requests + 1);
      expect(after.nanos - before.nanos).toBe(settled['nanos']);
      expect(after.reservedNanos).toBe(0);
    } finally {
      release();
    }
  });

  it('answers the health check on /', async () => {
    // WHEN
    const result = await invoke(handler, functionUrlEvent({ method: 'GET', path: '/' }));

    // THEN
    const { prelude, body } = result.stream.response();
    expect(prelude.statusCode).toBe(200);
    expect(JSON.parse(body.toString('utf8'))).toEqual({ status: 'ok', service: 'tollgate' });
  });

  it('prices with the copy the refresher stored: at cold start, and in a warm sandbox after its re-check interval', async () => {
    // GIVEN the refresher stored data in which gpt-4o costs $1000 per million tokens
    const source = await startFakePriceSource(JSON.stringify(withPrice(samplePriceData(), 'openai', 'gpt-4o', { input_mtok: 1000, output_mtok: 1000 })));
    const refresh = (url: string) => runPriceRefresh({ store: priceStore, url, namespace: NAMESPACE, write: () => {} });
    try {
      expect((await refresh(source.url)).outcome).toBe('updated');
      process.env['TOLLGATE_PRICES_RECHECK_MINUTES'] = String(50 / 60_000); // 50 ms
      const sandbox = coldStart();
      delete process.env['TOLLGATE_PRICES_RECHECK_MINUTES'];
      const cost = async () => (await invoke(sandbox, chat({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }))).stream.response().prelude.headers['x-tollgate-cost-usd'];

      // WHEN a new sandbox prices a request
      // THEN it used the stored copy: 2016 tokens at $1000 per million
      expect(await cost()).toBe('2.016');

      // WHEN the refresher stores cheaper data and the re-check interval passes
      source.body = JSON.stringify(withPrice(samplePriceData(), 'openai', 'gpt-4o', { input_mtok: 1, output_mtok: 1 }));
      expect((await refresh(source.url)).outcome).toBe('updated');
      await new Promise((resolve) => setTimeout(resolve, 60));
      await cost(); // this response is sent first; the re-check runs after it, inside the invocation

      // THEN the warm sandbox prices the next request with the new copy, without a redeploy
      expect(await cost()).toBe('0.002016');

      // AND the first sandbox, whose re-check is not due, still prices with what it loaded
      expect((await invoke(handler, chat({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }))).stream.response().prelude.headers['x-tollgate-cost-usd']).toBe('0.002715');
    } finally {
      await source.close();
    }
  });
});
