import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { issueKey, type IssuedKey } from '../../lambda/keys/issue-key';
import type { StreamingHandler } from '../../lambda/server/lambda-stream';
import { openDynamoStore } from '../../lambda/store/dynamodb';
import { startDynalite, type LocalDynamo } from '../support/dynalite';
import { fixture, startFakeOpenAI, UPSTREAM_KEY, type FakeOpenAI } from '../support/fake-openai';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver';
import { startFakeSecretsManager, type FakeSecretsManager } from '../lambda/support/aws-fakes';
import { setProcessEnv } from '../lambda/support/process-env';
import { functionUrlEvent, installRuntimeStandIn, invoke } from '../lambda/support/streaming-runtime';

const SHARED_SECRET = 'tollgate/test/shared';
const TOKEN_V1 = 'pylf_v1_us_first0123456789abcdef';
const TOKEN_V2 = 'pylf_v1_us_rotated9876543210fedcba';
const TOKEN_BROKEN = 'pylf_v1_us_broken5555555555555555';
const TTL_SECONDS = 60;

/**
 * The Lambda proxy handler with a tracing header (a Logfire write token) held in Secrets Manager:
 * read through the same cache as provider credentials, per span batch, after the response has
 * ended; never on the request path, never in a log line or a span.
 */
describe('the Lambda proxy handler, a tracing header from Secrets Manager', () => {
  let dynamo: LocalDynamo;
  let upstream: FakeOpenAI;
  let secrets: FakeSecretsManager;
  let issued: IssuedKey;
  let restore: (() => void)[];
  /** Added to the clock the handler's secrets cache reads: how a test moves past the TTL. */
  let skewMs = 0;
  /** Everything the handler wrote to stdout, stderr or the console. */
  let logged: string[];
  const receivers: OtlpReceiver[] = [];

  beforeAll(async () => {
    dynamo = await startDynalite();
    const tables = await dynamo.createTables();
    upstream = await startFakeOpenAI();
    secrets = await startFakeSecretsManager();
    issued = await issueKey(openDynamoStore({ client: dynamo.client, ...tables }), { project: 'acme', user: 'ada' });
    logged = [];
    const record = (chunk: unknown) => {
      logged.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      return true;
    };
    const spies = [
      jest.spyOn(process.stdout, 'write').mockImplementation(record),
      jest.spyOn(process.stderr, 'write').mockImplementation(record),
      ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((method) => jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void record(args.map(String).join(' ')))),
    ];
    const realNow = Date.now.bind(Date);
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + skewMs);
    restore = [
      setProcessEnv({
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'tollgate-test',
        AWS_SECRET_ACCESS_KEY: 'tollgate-test',
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
        TOLLGATE_KEYS_TABLE: tables.keysTable,
        TOLLGATE_SPEND_TABLE: tables.spendTable,
        TOLLGATE_SECRETS_TTL_SECONDS: String(TTL_SECONDS),
        OPENAI_API_KEY: UPSTREAM_KEY,
      }),
      installRuntimeStandIn(),
      ...spies.map((spy) => () => spy.mockRestore()),
      () => clock.mockRestore(),
    ];
  });
  afterAll(async () => {
    for (const undo of restore.reverse()) undo();
    for (const receiver of receivers) await receiver.close();
    await secrets.close();
    await upstream.close();
    await dynamo.close();
  });

  /** A fresh sandbox with this config; its queue would hold a span for a minute, so only the handler's flush sends. */
  function coldStart(config: object): StreamingHandler<LambdaFunctionURLEvent> {
    const undo = setProcessEnv({ TOLLGATE_CONFIG_JSON: JSON.stringify(config) });
    let loaded: StreamingHandler<LambdaFunctionURLEvent> | undefined;
    jest.isolateModules(() => {
      loaded = (require('../../lambda/handlers/proxy') as { handler: StreamingHandler<LambdaFunctionURLEvent> }).handler;
    });
    undo();
    return loaded!;
  }

  async function receiver(): Promise<OtlpReceiver> {
    const started = await startOtlpReceiver();
    receivers.push(started);
    return started;
  }

  const chat = () =>
    functionUrlEvent({
      path: '/proxy/openai/chat/completions',
      headers: { authorization: `Bearer ${issued.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }),
    });

  /** The secret scan: no token, whole or as its distinctive tail, in any log line, export body or span attribute. */
  function expectNowhere(receivers: readonly OtlpReceiver[], ...tokens: string[]): void {
    const logs = logged.join('\n');
    const exported = receivers.flatMap((r) => r.requests.map((request) => request.raw.toString('latin1')));
    const attributes = receivers.flatMap((r) => r.spans.map((span) => JSON.stringify([span.attributes, span.resource])));
    for (const token of tokens) {
      for (const needle of [token, token.slice(-16)]) {
        expect(logs).not.toContain(needle);
        for (const text of [...exported, ...attributes]) expect(text).not.toContain(needle);
      }
    }
  }

  it('sends the secret\'s value, read once per TTL through the credentials\' cache, and a rotated value once the TTL has passed', async () => {
    // GIVEN one JSON secret holding the provider credential and the Logfire token, both named by field
    secrets.secrets.set(SHARED_SECRET, { SecretString: JSON.stringify({ openai: UPSTREAM_KEY, logfire: TOKEN_V1 }) });
    const logfire = await receiver();
    const handler = coldStart({
      providers: { openai: { baseUrl: upstream.baseUrl, credential: { secret: SHARED_SECRET, field: 'openai' } } },
      tracing: { export: { endpoint: logfire.url, headers: { Authorization: { secret: SHARED_SECRET, field: 'logfire' } } }, queue: { delayMs: 60_000 }, flushTimeoutMs: 10_000 },
    });
    const calls = () => secrets.calls.filter((call) => JSON.parse(call.body).SecretId === SHARED_SECRET).length;

    // WHEN two requests are served
    const first = await invoke(handler, chat());
    const second = await invoke(handler, chat());

    // THEN each invocation's spans reached the receiver before it returned, with the token as the header
    for (const invocation of [first, second]) {
      expect(invocation.error).toBeUndefined();
      expect(invocation.stream.response().body.equals(fixture('chat.json'))).toBe(true);
    }
    expect(logfire.requests.map((request) => request.headers['authorization'])).toEqual([TOKEN_V1, TOKEN_V1]);
    expect(logfire.spans).toHaveLength(4);
    // AND the one secret was read once, for the credential and the header alike
    expect(calls()).toBe(1);

    // WHEN the token is rotated: within the TTL the cached value is still sent
    secrets.secrets.set(SHARED_SECRET, { SecretString: JSON.stringify({ openai: UPSTREAM_KEY, logfire: TOKEN_V2 }) });
    await invoke(handler, chat());
    expect(logfire.requests.at(-1)?.headers['authorization']).toBe(TOKEN_V1);
    expect(calls()).toBe(1);

    // WHEN the TTL has passed
    skewMs += (TTL_SECONDS + 1) * 1000;
    const rotated = await invoke(handler, chat());

    // THEN the next batch carries the new token, without a redeploy, and the request was served as ever
    expect(rotated.error).toBeUndefined();
    expect(rotated.stream.response().prelude.statusCode).toBe(200);
    expect(logfire.requests.at(-1)?.headers['authorization']).toBe(TOKEN_V2);
    expect(calls()).toBe(2);
    expectNowhere([logfire], TOKEN_V1, TOKEN_V2);
  });

  it.each([
    ['does not exist', 'tollgate/test/nosuch', undefined, 'ResourceNotFoundException'],
    ['holds a value no header may carry', 'tollgate/test/broken', { SecretString: JSON.stringify({ token: `${TOKEN_BROKEN}\r\nX-Injected: 1` }) }, 'not a usable header value'],
  ])('drops the batch, serves the request in full and logs the secret and field, never a value, when the secret %s', async (_, secretId, stored, why) => {
    // GIVEN a destination whose token secret cannot be used
    if (stored) secrets.secrets.set(secretId, stored);
    const logfire = await receiver();
    const handler = coldStart({
      providers: { openai: { baseUrl: upstream.baseUrl } },
      tracing: { export: { endpoint: logfire.url, headers: { Authorization: { secret: secretId, field: 'token' } } }, queue: { delayMs: 60_000 }, flushTimeoutMs: 10_000 },
    });
    const linesBefore = logged.length;
    const callsBefore = secrets.calls.length;

    // WHEN a request is served
    const result = await invoke(handler, chat());

    // THEN the client got the whole response, and the handler returned without error
    expect(result.error).toBeUndefined();
    expect(result.stream.response().prelude.statusCode).toBe(200);
    expect(result.stream.response().body.equals(fixture('chat.json'))).toBe(true);
    // AND the secret was asked for only after the response had gone out (the provider credential is from the environment)
    const asked = secrets.calls.slice(callsBefore);
    expect(asked.map((call) => JSON.parse(call.body).SecretId)).toEqual([secretId]);
    expect(asked[0]!.at).toBeGreaterThan(result.stream.wire.at(-1)!.at);
    // AND nothing reached the receiver: the batch was dropped and counted as failed
    expect(logfire.requests).toHaveLength(0);
    const failures = logged
      .slice(linesBefore)
      .join('')
      .split('\n')
      .filter((line) => line.includes('tracing_export_failed'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ dropped_failed: 2, exported: 0 });
    expect(failures[0]!['reason']).toContain(`tracing.export.headers.Authorization from secret ${secretId} field "token"`);
    expect(failures[0]!['reason']).toContain(why);
    expectNowhere([logfire], TOKEN_BROKEN, TOKEN_V1, TOKEN_V2);
  });
});
