import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { ORIGIN_HEADER } from '../../lambda/handlers/env';
import { issueKey, type IssuedKey } from '../../lambda/keys/issue-key';
import type { StreamingHandler } from '../../lambda/server/lambda-stream';
import { openDynamoStore } from '../../lambda/store/dynamodb';
import { startDynalite, type LocalDynamo } from '../support/dynalite';
import { fixture, startFakeOpenAI, UPSTREAM_KEY, type FakeOpenAI } from '../support/fake-openai';
import { startFakeSecretsManager, type FakeSecretsManager } from './support/aws-fakes';
import { functionUrlEvent, installRuntimeStandIn, invoke } from './support/streaming-runtime';
import { setProcessEnv } from './support/process-env';

const PROVIDER_SECRET = 'tollgate/test/providers';
const ORIGIN_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:TollgateOriginSecret-AbCdEf';
const ORIGIN_VALUE = 'q3Zr8TfXw1Lk5Np7Hs2Gd9Vb4Mc6Jy0Ua8Re3Wt';

/**
 * Behind a CloudFront front the function URL stays public; the proxy serves only what CloudFront
 * forwarded — requests carrying the origin secret in `x-tollgate-origin` — and no provider ever
 * sees that header.
 */
describe('the proxy handler behind a CloudFront front', () => {
  let dynamo: LocalDynamo;
  let secrets: FakeSecretsManager;
  let upstream: FakeOpenAI;
  let issued: IssuedKey;
  let handler: StreamingHandler<LambdaFunctionURLEvent>;
  let restore: Array<() => void>;

  beforeAll(async () => {
    dynamo = await startDynalite();
    const tables = await dynamo.createTables();
    secrets = await startFakeSecretsManager({
      [PROVIDER_SECRET]: { SecretString: JSON.stringify({ openai: UPSTREAM_KEY }) },
      [ORIGIN_SECRET]: { SecretString: ORIGIN_VALUE },
    });
    upstream = await startFakeOpenAI();
    issued = await issueKey(openDynamoStore({ client: dynamo.client, ...tables }), { project: 'acme' });
    const env: Record<string, string> = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'tollgate-test',
      AWS_SECRET_ACCESS_KEY: 'tollgate-test',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      TOLLGATE_KEYS_TABLE: tables.keysTable,
      TOLLGATE_SPEND_TABLE: tables.spendTable,
      TOLLGATE_ORIGIN_SECRET_ARN: ORIGIN_SECRET,
      TOLLGATE_CONFIG_JSON: JSON.stringify({ providers: { openai: { baseUrl: upstream.baseUrl, credential: { secret: PROVIDER_SECRET, field: 'openai' } } } }),
    };
    restore = [setProcessEnv(env), installRuntimeStandIn()];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    restore.push(() => spy.mockRestore());
    jest.isolateModules(() => {
      handler = (require('../../lambda/handlers/proxy') as { handler: StreamingHandler<LambdaFunctionURLEvent> }).handler;
    });
  });

  afterAll(async () => {
    for (const undo of restore.reverse()) undo();
    await upstream.close();
    await secrets.close();
    await dynamo.close();
  });

  beforeEach(() => upstream.reset());

  const chat = (headers: Record<string, string>, path = '/proxy/openai/chat/completions') =>
    functionUrlEvent({
      path,
      headers: { authorization: `Bearer ${issued.key}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }),
    });

  it('serves a request CloudFront forwarded, and takes the origin header out before the provider sees the request', async () => {
    // WHEN
    const result = await invoke(handler, chat({ [ORIGIN_HEADER]: ORIGIN_VALUE }));

    // THEN
    const { prelude, body } = result.stream.response();
    expect(prelude.statusCode).toBe(200);
    expect(body.equals(fixture('chat.json'))).toBe(true);
    expect(upstream.requests).toHaveLength(1);
    expect(upstream.requests[0]!.headers[ORIGIN_HEADER]).toBeUndefined();
    expect(JSON.stringify(upstream.requests[0]!.headers)).not.toContain(ORIGIN_VALUE);
  });

  it.each<[string, Record<string, string>]>([
    ['without the header (the function URL called directly)', {}],
    ['with a wrong value', { [ORIGIN_HEADER]: 'guess' }],
    ['with a value one character short', { [ORIGIN_HEADER]: ORIGIN_VALUE.slice(0, -1) }],
  ])('refuses a request %s with a 404 in the API\'s own error shape, before anything else happens', async (_case, headers) => {
    // WHEN
    const result = await invoke(handler, chat(headers));
    const anthropic = await invoke(handler, chat(headers, '/proxy/anthropic/v1/messages'));

    // THEN
    const { prelude, body } = result.stream.response();
    expect(prelude.statusCode).toBe(404);
    expect(prelude.headers['x-tollgate-error']).toBe('not_found');
    expect(JSON.parse(body.toString('utf8'))).toMatchObject({ error: { message: expect.stringContaining('served through its CloudFront address') } });
    expect(JSON.parse(anthropic.stream.response().body.toString('utf8'))).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    expect(upstream.requests).toEqual([]);
  });

  it('reads the origin secret once for many requests', async () => {
    // WHEN
    const before = secrets.calls.filter((call) => call.body.includes(ORIGIN_SECRET)).length;
    for (let i = 0; i < 3; i++) await invoke(handler, chat({ [ORIGIN_HEADER]: ORIGIN_VALUE }));

    // THEN the first test already read it; these used the cached value
    expect(before).toBe(1);
    expect(secrets.calls.filter((call) => call.body.includes(ORIGIN_SECRET))).toHaveLength(1);
  });
});
