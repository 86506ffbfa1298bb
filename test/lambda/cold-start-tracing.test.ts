import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { issueKey, type IssuedKey } from '../../lambda/keys/issue-key';
import type { StreamingHandler } from '../../lambda/server/lambda-stream';
import { openDynamoStore } from '../../lambda/store/dynamodb';
import { startDynalite, type LocalDynamo } from '../support/dynalite';
import { startFakeOpenAI, UPSTREAM_KEY, type FakeOpenAI } from '../support/fake-openai';
import { startFakeSecretsManager, type FakeSecretsManager } from './support/aws-fakes';
import { functionUrlEvent, installRuntimeStandIn, invoke } from './support/streaming-runtime';

const SECRET_ID = 'tollgate/test/providers';
const TRACE_HEADER = 'Root=1-6745f1a0-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1';

/**
 * The proxy handler as it starts in Lambda with active tracing: the X-Ray SDK in Lambda mode (it
 * keys on LAMBDA_TASK_ROOT), Powertools' tracer on (AWS_EXECUTION_ENV), the context-missing strategy
 * Lambda sets (LOG_ERROR), the trace header set only
 * while an invocation runs — as the runtime does — and a UDP "daemon" that receives the segments.
 * A traced AWS call during init has no trace to join: the SDK logs "Missing AWS Lambda trace data
 * for X-Ray" with a stack trace, whose source-mapped formatting slowed every cold start.
 */
describe('the proxy handler under active tracing', () => {
  let dynamo: LocalDynamo;
  let secrets: FakeSecretsManager;
  let upstream: FakeOpenAI;
  let daemon: Socket;
  let segments: string[];
  let issued: IssuedKey;
  let output: string[];
  let restore: Array<() => void>;

  beforeAll(async () => {
    dynamo = await startDynalite();
    const tables = await dynamo.createTables();
    const pricesTable = `${tables.keysTable}-prices`;
    await dynamo.client.send(
      new CreateTableCommand({ TableName: pricesTable, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] }),
    );
    secrets = await startFakeSecretsManager({ [SECRET_ID]: { SecretString: JSON.stringify({ openai: UPSTREAM_KEY }) } });
    upstream = await startFakeOpenAI();
    issued = await issueKey(openDynamoStore({ client: dynamo.client, ...tables }), { project: 'acme' });
    segments = [];
    daemon = createSocket('udp4');
    daemon.on('message', (message) => segments.push(message.toString('utf8')));
    await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));

    const env: Record<string, string> = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'tollgate-test',
      AWS_SECRET_ACCESS_KEY: 'tollgate-test',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      AWS_LAMBDA_FUNCTION_NAME: 'tollgate-proxy',
      LAMBDA_TASK_ROOT: '/var/task',
      // Lambda sets this with active tracing (Powertools would otherwise set IGNORE_ERROR, hiding the error).
      AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
      AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${(daemon.address() as AddressInfo).port}`,
      TOLLGATE_KEYS_TABLE: tables.keysTable,
      TOLLGATE_SPEND_TABLE: tables.spendTable,
      TOLLGATE_PRICES_TABLE: pricesTable,
      TOLLGATE_CONFIG_JSON: JSON.stringify({ providers: { openai: { baseUrl: upstream.baseUrl, credential: { secret: SECRET_ID, field: 'openai' } } } }),
    };
    const saved = Object.fromEntries([...Object.keys(env), '_X_AMZN_TRACE_ID'].map((name) => [name, process.env[name]]));
    delete process.env['_X_AMZN_TRACE_ID'];
    Object.assign(process.env, env);
    restore = [
      () => {
        for (const [name, value] of Object.entries(saved)) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
      },
      installRuntimeStandIn(),
    ];
    output = [];
    const capture = (chunk: string | Uint8Array) => {
      output.push(String(chunk));
      return true;
    };
    const spies = [
      jest.spyOn(process.stdout, 'write').mockImplementation(capture),
      jest.spyOn(process.stderr, 'write').mockImplementation(capture),
      jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void output.push(args.map(String).join(' '))),
      jest.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => void output.push(args.map(String).join(' '))),
    ];
    restore.push(() => spies.forEach((spy) => spy.mockRestore()));
  });

  afterAll(async () => {
    for (const undo of restore.reverse()) undo();
    daemon.close();
    await upstream.close();
    await secrets.close();
    await dynamo.close();
  });

  it('makes no traced call during init, and traces the store and secret calls of its first invocation', async () => {
    // GIVEN a new sandbox: the module loaded with no trace header, as in Lambda's init phase
    let handler: StreamingHandler<LambdaFunctionURLEvent> | undefined;
    jest.isolateModules(() => {
      handler = (require('../../lambda/handlers/proxy') as { handler: StreamingHandler<LambdaFunctionURLEvent> }).handler;
    });
    // Whatever init started (the stored prices load) gets the time it needs to finish.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const duringInit = output.join('');

    // WHEN the first invocation runs with its trace header
    process.env['_X_AMZN_TRACE_ID'] = TRACE_HEADER;
    let result: Awaited<ReturnType<typeof invoke>>;
    try {
      result = await invoke(
        handler!,
        functionUrlEvent({
          path: '/proxy/openai/chat/completions',
          headers: { authorization: `Bearer ${issued.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }),
        }),
      );
    } finally {
      delete process.env['_X_AMZN_TRACE_ID'];
    }
    await waitFor(() => segments.some((segment) => segment.includes('"DynamoDB"')));

    // THEN init logged no X-Ray context error (nor anything else at error level)
    expect(duringInit).not.toContain('Missing AWS Lambda trace data');
    expect(output.join('')).not.toContain('Missing AWS Lambda trace data');
    // AND the invocation was served, and its AWS calls went to the daemon as subsegments of its trace
    expect(result.stream.response().prelude.statusCode).toBe(200);
    const traced = segments.map((segment) => segment.slice(segment.indexOf('\n') + 1)).map((json) => JSON.parse(json) as { trace_id?: string; name?: string });
    expect(traced.map((segment) => segment.name)).toEqual(expect.arrayContaining(['DynamoDB', 'SecretsManager']));
    expect(traced.every((segment) => segment.trace_id === '1-6745f1a0-0123456789abcdef01234567')).toBe(true);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
}
