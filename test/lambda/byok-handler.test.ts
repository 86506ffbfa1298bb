import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { issueKey } from '../../lambda/keys/issue-key';
import type { StreamingHandler } from '../../lambda/server/lambda-stream';
import { openDynamoStore } from '../../lambda/store/dynamodb';
import type { Store } from '../../lambda/store/port';
import { json, run, type Run } from '../cli/run';
import { startDynalite, type LocalDynamo } from '../support/dynalite';
import { startFakeOpenAI, UPSTREAM_KEY, type FakeOpenAI } from '../support/fake-openai';
import { startRecordingServer, type RecordingServer } from '../support/recording-server';
import { startFakeSecretsManager, type FakeSecretsManager } from './support/aws-fakes';
import { functionUrlEvent, installRuntimeStandIn, invoke } from './support/streaming-runtime';
import { setProcessEnv } from './support/process-env';

const STACK = 'Tollgate-test';
const MANAGED_SECRET = `tollgate/${STACK}/providers`;
const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const OWN_KEY = 'sk-Tb3n8Qw1Xe6Ry4Uk9Io2Pa7Sd5Fg0Hj';

/**
 * On AWS: the CLI, pointed at the stack, puts a project's credential in Secrets Manager under the
 * stack's prefix and its account in DynamoDB; the Lambda proxy, unchanged, resolves it.
 */
describe('a project’s own provider account on a deployed stack', () => {
  let dynamo: LocalDynamo;
  let secrets: FakeSecretsManager;
  let cloudformation: RecordingServer;
  let managed: FakeOpenAI;
  let own: FakeOpenAI;
  let store: Store;
  let keysTable: string;
  let handler: StreamingHandler<LambdaFunctionURLEvent>;
  let stdout: string[];
  let restore: Array<() => void>;
  const cliOutput: Run[] = [];

  /** The operator's shell: their AWS credentials, the credential to add, and nothing of the stack but its name. */
  const tollgate = async (...argv: string[]): Promise<Run> => {
    const result = await run(['--stack', STACK, '--region', 'us-east-1', ...argv], {
      AWS_ACCESS_KEY_ID: 'tollgate-test',
      AWS_SECRET_ACCESS_KEY: 'tollgate-test',
      AWS_ENDPOINT_URL_CLOUDFORMATION: cloudformation.origin,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      ACME_OPENAI_KEY: OWN_KEY,
    });
    cliOutput.push(result);
    return result;
  };
  const chat = (key: string) =>
    functionUrlEvent({
      path: '/proxy/openai/chat/completions',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] }),
    });

  beforeAll(async () => {
    dynamo = await startDynalite();
    const tables = await dynamo.createTables();
    keysTable = tables.keysTable;
    store = openDynamoStore({ client: dynamo.client, ...tables });
    secrets = await startFakeSecretsManager({ [MANAGED_SECRET]: { SecretString: JSON.stringify({ openai: UPSTREAM_KEY }) } });
    cloudformation = await startFakeCloudFormation({ KeysTableName: tables.keysTable, SpendTableName: tables.spendTable, SecretsKeyArn: KEY_ARN });
    managed = await startFakeOpenAI();
    own = await startFakeOpenAI({ key: OWN_KEY });

    // The stack's environment for the function; the SDKs' own endpoint overrides point at the fakes.
    const env: Record<string, string> = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'tollgate-test',
      AWS_SECRET_ACCESS_KEY: 'tollgate-test',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      TOLLGATE_KEYS_TABLE: tables.keysTable,
      TOLLGATE_SPEND_TABLE: tables.spendTable,
      TOLLGATE_CONFIG_JSON: JSON.stringify({ providers: { openai: { baseUrl: managed.baseUrl, credential: { secret: MANAGED_SECRET, field: 'openai' } } } }),
    };
    restore = [setProcessEnv(env), installRuntimeStandIn()];
    stdout = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(String(chunk));
      return true;
    });
    restore.push(() => spy.mockRestore());
    jest.isolateModules(() => {
      handler = (require('../../lambda/handlers/proxy') as { handler: StreamingHandler<LambdaFunctionURLEvent> }).handler;
    });
  });

  afterAll(async () => {
    for (const undo of restore.reverse()) undo();
    await managed.close();
    await own.close();
    await cloudformation.close();
    await secrets.close();
    await dynamo.close();
  });

  it('stores the credential as a secret under the stack’s prefix, which the proxy reads for that project’s keys only', async () => {
    // WHEN the operator adds the project's account to the stack
    const added = await tollgate('providers', 'add', '--project', 'acme', '--name', 'openai-acme', '--kind', 'openai', '--base-url', own.baseUrl, '--credential-from-env', 'ACME_OPENAI_KEY', '--json');

    // THEN the credential is a secret of the stack, encrypted with its key, and the account names only the secret
    expect(added).toMatchObject({ code: 0, stderr: '' });
    const view = json<{ storedIn: string; secretId: string; credentialEndsWith: string }>(added);
    expect(view).toMatchObject({ storedIn: 'secrets-manager', credentialEndsWith: 'g0Hj' });
    expect(view.secretId).toMatch(/^tollgate\/Tollgate-test\/byok\/acme\/openai-acme-[0-9a-f]{8}$/);
    expect(secrets.secrets.get(view.secretId)).toEqual({ SecretString: OWN_KEY });
    const created = secrets.calls.find((call) => call.target === 'secretsmanager.CreateSecret');
    expect(JSON.parse(created!.body)).toMatchObject({ Name: view.secretId, KmsKeyId: KEY_ARN });
    const { Item } = await dynamo.client.send(new GetItemCommand({ TableName: keysTable, Key: { pk: { S: 'accounts#acme' } }, ConsistentRead: true }));
    expect(JSON.stringify(Item)).toContain(view.secretId);
    expect(JSON.stringify(Item)).not.toContain(OWN_KEY.slice(3));

    // WHEN a key of that project and a key of another call through the proxy
    const acme = await issueKey(store, { project: 'acme' });
    const beta = await issueKey(store, { project: 'beta' });
    const mine = await invoke(handler, chat(acme.key));
    const theirs = await invoke(handler, chat(beta.key));

    // THEN the project's credential went to its account, and the other project's key used the gateway's
    expect(mine.stream.response().prelude.statusCode).toBe(200);
    expect(mine.stream.response().prelude.headers['x-tollgate-provider']).toBe('openai-acme');
    expect(theirs.stream.response().prelude.headers['x-tollgate-provider']).toBe('openai');
    expect(own.requests.map((request) => request.headers.authorization)).toEqual([`Bearer ${OWN_KEY}`]);
    expect(managed.requests.map((request) => request.headers.authorization)).toEqual([`Bearer ${UPSTREAM_KEY}`]);
    expect(secrets.calls.filter((call) => call.target === 'secretsmanager.GetSecretValue').map((call) => (JSON.parse(call.body) as { SecretId: string }).SecretId).sort()).toEqual(
      [MANAGED_SECRET, view.secretId].sort(),
    );

    // AND the spend was recorded as the project's own, before the invocation returned
    expect((await store.getSpend({ kind: 'byok', id: 'acme/openai-acme' })).find((c) => c.period === 'lifetime')).toMatchObject({ requests: 1 });
    expect((await store.getSpend({ kind: 'project', id: 'beta' })).find((c) => c.period === 'lifetime')).toMatchObject({ requests: 1 });
    expect((await store.getSpend({ kind: 'byok' })).map((c) => c.scope.id)).not.toContain('beta/openai');
  });

  it('deletes the secret with the account, and never shows the credential anywhere', async () => {
    // WHEN the account is listed, then removed
    const listed = await tollgate('providers', 'list');
    const secretId = [...secrets.secrets.keys()].find((name) => name.includes('/byok/'))!;
    const removed = await tollgate('providers', 'remove', 'openai-acme', '--project', 'acme');

    // THEN the listing shows its last 4 characters, and the removal deleted the secret at once
    expect(listed.stdout).toMatch(/^acme\s+openai-acme\s+openai\s+\.\.\.g0Hj\s+secrets manager/m);
    expect(removed).toMatchObject({ code: 0, stdout: expect.stringContaining(`Its secret ${secretId} is deleted.`) });
    expect(secrets.secrets.has(secretId)).toBe(false);
    const deleted = secrets.calls.find((call) => call.target === 'secretsmanager.DeleteSecret');
    expect(JSON.parse(deleted!.body)).toEqual({ SecretId: secretId, ForceDeleteWithoutRecovery: true });

    // AND neither the CLI nor the function's logs ever held it
    expect(cliOutput.map((result) => result.stdout + result.stderr).join('\n')).not.toContain(OWN_KEY.slice(3, 12));
    expect(stdout.join('')).not.toContain(OWN_KEY.slice(3, 12));
  });
});

/** CloudFormation's DescribeStacks on loopback, answering for one stack with the given outputs. */
async function startFakeCloudFormation(outputs: Record<string, string>): Promise<RecordingServer> {
  return startRecordingServer((request, res) => {
    const known = request.body.toString().includes(`StackName=${STACK}`);
    res.writeHead(known ? 200 : 400, { 'content-type': 'text/xml' });
    const members = Object.entries(outputs)
      .map(([key, value]) => `<member><OutputKey>${key}</OutputKey><OutputValue>${value}</OutputValue></member>`)
      .join('');
    res.end(
      known
        ? `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>
            <StackName>${STACK}</StackName><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-11-27T10:00:00Z</CreationTime>
            <Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult>
            <ResponseMetadata><RequestId>b9b4b068-example</RequestId></ResponseMetadata></DescribeStacksResponse>`
        : `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ValidationError</Code>
            <Message>Stack with id unknown does not exist</Message></Error><RequestId>b9b4b068-example</RequestId></ErrorResponse>`,
    );
  });
}
