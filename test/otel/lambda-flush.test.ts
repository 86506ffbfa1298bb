import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { issueKey, type IssuedKey } from '../../lambda/keys/issue-key';
import type { StreamingHandler } from '../../lambda/server/lambda-stream';
import { openDynamoStore } from '../../lambda/store/dynamodb';
import { gate } from '../support/gate';
import { startDynalite, type LocalDynamo } from '../support/dynalite';
import { fixture, startFakeOpenAI, UPSTREAM_KEY, type FakeOpenAI } from '../support/fake-openai';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver';
import { functionUrlEvent, installRuntimeStandIn, invoke, lambdaContext, ResponseStreamStandIn } from '../lambda/support/streaming-runtime';

/**
 * The Lambda proxy handler with tracing on: its spans are exported inside the invocation that
 * made them (Lambda freezes the sandbox once the handler returns), after the response has ended.
 */
describe('the Lambda proxy handler, tracing', () => {
  let dynamo: LocalDynamo;
  let upstream: FakeOpenAI;
  let issued: IssuedKey;
  let restore: (() => void)[];
  const receivers: OtlpReceiver[] = [];

  beforeAll(async () => {
    dynamo = await startDynalite();
    const tables = await dynamo.createTables();
    upstream = await startFakeOpenAI();
    issued = await issueKey(openDynamoStore({ client: dynamo.client, ...tables }), { project: 'acme', user: 'ada' });
    const env: Record<string, string> = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'tollgate-test',
      AWS_SECRET_ACCESS_KEY: 'tollgate-test',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_LAMBDA_FUNCTION_NAME: 'tollgate-proxy-test',
      TOLLGATE_KEYS_TABLE: tables.keysTable,
      TOLLGATE_SPEND_TABLE: tables.spendTable,
      OPENAI_API_KEY: UPSTREAM_KEY,
    };
    const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
    Object.assign(process.env, env);
    const quiet = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    restore = [
      () => {
        for (const [name, value] of Object.entries(saved)) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
      },
      installRuntimeStandIn(),
      () => quiet.mockRestore(),
    ];
  });
  afterAll(async () => {
    for (const undo of restore.reverse()) undo();
    for (const receiver of receivers) await receiver.close();
    await upstream.close();
    await dynamo.close();
  });

  /** A sandbox whose config sends spans to `receiver`. */
  function coldStart(receiver: OtlpReceiver, flushTimeoutMs: number, delayMs = 60_000): StreamingHandler<LambdaFunctionURLEvent> {
    process.env['TOLLGATE_CONFIG_JSON'] = JSON.stringify({
      providers: { openai: { baseUrl: upstream.baseUrl } },
      tracing: { export: { endpoint: receiver.url }, queue: { delayMs }, flushTimeoutMs },
    });
    let loaded: StreamingHandler<LambdaFunctionURLEvent> | undefined;
    jest.isolateModules(() => {
      loaded = (require('../../lambda/handlers/proxy') as { handler: StreamingHandler<LambdaFunctionURLEvent> }).handler;
    });
    delete process.env['TOLLGATE_CONFIG_JSON'];
    return loaded!;
  }

  const chat = (stream: boolean) =>
    functionUrlEvent({
      path: '/proxy/openai/chat/completions',
      headers: { authorization: `Bearer ${issued.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', stream, messages: [{ role: 'user', content: 'Hi' }] }),
    });

  it('exports the spans before the invocation returns, once the whole response has gone out', async () => {
    // GIVEN a receiver that holds its answer until the test has looked at the response
    const answer = gate();
    const arrived = gate();
    const receiver = await startOtlpReceiver({
      respond: async () => {
        arrived.open();
        await answer.promise;
        return 200;
      },
    });
    receivers.push(receiver);
    const handler = coldStart(receiver, 10_000);

    // WHEN a streamed completion is served
    const stream = new ResponseStreamStandIn();
    let returned = false;
    const invocation = handler(chat(true), stream, lambdaContext()).then(() => (returned = true));
    await arrived.promise;

    // THEN when the export reaches the receiver, the response is whole and ended, and the handler is still waiting
    expect(stream.writableEnded).toBe(true);
    expect(stream.response().body.equals(fixture('chat-stream.sse'))).toBe(true);
    expect(returned).toBe(false);
    expect(receiver.spans.map((span) => span.kind).sort()).toEqual([2, 3]);
    expect(receiver.spans.map((span) => span.resource['faas.name'])).toEqual(['tollgate-proxy-test', 'tollgate-proxy-test']);
    expect(receiver.spans.find((span) => span.kind === 2)?.attributes['tollgate.cost.nanos']).toBeGreaterThan(0);

    // AND it returns once the receiver has answered
    answer.open();
    await invocation;
    expect(returned).toBe(true);
  });

  it('has every span at the receiver when the invocation returns, with no timer left to send them', async () => {
    const receiver = await startOtlpReceiver();
    receivers.push(receiver);
    const handler = coldStart(receiver, 10_000);
    const first = await invoke(handler, chat(false));
    expect(first.error).toBeUndefined();
    // No waiting: the queue's own timer is a minute away, so only the handler's flush could have sent them.
    expect(receiver.spans.map((span) => span.kind).sort()).toEqual([2, 3]);
    const second = await invoke(handler, chat(true));
    expect(second.error).toBeUndefined();
    expect(receiver.spans).toHaveLength(4);
  });

  it('stops waiting for a receiver that does not answer after flushTimeoutMs, and keeps serving', async () => {
    // GIVEN a receiver that never answers, and a short flush budget
    const receiver = await startOtlpReceiver({ respond: () => 'hang' });
    receivers.push(receiver);
    const handler = coldStart(receiver, 200);

    // WHEN two requests are served
    const first = await invoke(handler, chat(false));
    const second = await invoke(handler, chat(false));

    // THEN each invocation returned, answered in full, its wait for the receiver bounded by the flush timeout
    for (const invocation of [first, second]) {
      expect(invocation.error).toBeUndefined();
      expect(invocation.stream.response().prelude.statusCode).toBe(200);
      expect(invocation.stream.response().body.equals(fixture('chat.json'))).toBe(true);
      const lastWrite = invocation.stream.wire.at(-1)!.at;
      expect(invocation.returnedAt - lastWrite).toBeGreaterThanOrEqual(190);
      expect(invocation.returnedAt - lastWrite).toBeLessThan(5_000);
    }
  });

  it('sends nothing between invocations: a failed export waits for the next invocation instead of a timer', async () => {
    // GIVEN a receiver that is down for its first request, a queue whose own timer would fire within
    // 10 ms, and a flush budget shorter than the first retry's backoff (at least half a second)
    const receiver = await startOtlpReceiver({ respond: ({ index }) => (index === 0 ? 503 : 200) });
    receivers.push(receiver);
    const handler = coldStart(receiver, 300, 10);

    // WHEN one request is served, and the sandbox then sits idle (frozen, in Lambda) for longer than the backoff
    const first = await invoke(handler, chat(false));
    expect(first.error).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    // THEN nothing was sent while no invocation ran: a timer or retry firing there would run at thaw, outside any invocation
    expect(receiver.requests).toHaveLength(1);

    // AND the next invocation sends the kept spans along with its own
    const second = await invoke(handler, chat(false));
    expect(second.error).toBeUndefined();
    expect(receiver.spans).toHaveLength(6);
  });
});
