import { applyStackTarget } from '../../lambda/cli/stack-target';
import { UsageError, type CliIo } from '../../lambda/cli/io';
import { run } from '../cli/run';
import { startRecordingServer, type RecordingServer } from '../support/recording-server';

const io = (env: NodeJS.ProcessEnv): CliIo => ({ env, stdout: { write: () => true }, stderr: { write: () => true } });

describe('tollgate --stack/--region/--keys-table/--spend-table', () => {
  it('points the command at the deployed tables with the caller\'s credentials, leaving the rest of the command line alone', async () => {
    // WHEN
    const target = await applyStackTarget(
      ['--stack', 'Tollgate-eu-west-1', '--region=eu-west-1', '--keys-table', 'K', '--spend-table', 'S', 'keys', 'create', '--project', 'acme'],
      io({ TOLLGATE_STORE: 'sqlite', TOLLGATE_DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000', AWS_PROFILE: 'ops' }),
    );

    // THEN
    expect(target.argv).toEqual(['keys', 'create', '--project', 'acme']);
    expect(target.io.env).toEqual({ TOLLGATE_STORE: 'dynamodb', AWS_REGION: 'eu-west-1', TOLLGATE_KEYS_TABLE: 'K', TOLLGATE_SPEND_TABLE: 'S', TOLLGATE_STACK: 'Tollgate-eu-west-1', AWS_PROFILE: 'ops' });
  });

  it('takes table names from the environment when the flags are absent', async () => {
    // WHEN
    const target = await applyStackTarget(['--region', 'us-east-1', 'spend'], io({ TOLLGATE_KEYS_TABLE: 'K', TOLLGATE_SPEND_TABLE: 'S' }));

    // THEN
    expect(target.argv).toEqual(['spend']);
    expect(target.io.env).toMatchObject({ TOLLGATE_STORE: 'dynamodb', AWS_REGION: 'us-east-1' });
  });

  it('changes nothing without its options', async () => {
    const given = io({ TOLLGATE_STORE: 'sqlite' });
    expect(await applyStackTarget(['keys', 'list', '--region', 'x'], given)).toEqual({ argv: ['keys', 'list', '--region', 'x'], io: given });
  });

  it('reads the table names from the stack outputs when only the stack is given', async () => {
    // GIVEN a CloudFormation endpoint that knows the stack (and checks the call is signed)
    const cloudformation = await startFakeCloudFormation();
    try {
      // WHEN
      const target = await applyStackTarget(['--stack', 'Tollgate-eu-west-1', '--region', 'eu-west-1', 'keys', 'list'], io(cloudformation.env));

      // THEN
      expect(target.io.env).toMatchObject({ TOLLGATE_STORE: 'dynamodb', TOLLGATE_KEYS_TABLE: 'tollgate-keys-A1', TOLLGATE_SPEND_TABLE: 'tollgate-spend-B2' });
      expect(cloudformation.requests).toHaveLength(1);
      expect(cloudformation.requests[0]?.body.toString()).toContain('Action=DescribeStacks');
      expect(cloudformation.requests[0]?.body.toString()).toContain('StackName=Tollgate-eu-west-1');
      expect(cloudformation.requests[0]?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDTOLLGATETEST\/\d{8}\/eu-west-1\/cloudformation\/aws4_request/);
    } finally {
      await cloudformation.close();
    }
  });

  it('says what went wrong when the stack cannot be read', async () => {
    const cloudformation = await startFakeCloudFormation();
    try {
      const result = await run(['--stack', 'Nope', '--region', 'eu-west-1', 'keys', 'list'], cloudformation.env);

      expect(result.code).toBe(1);
      expect(result.stderr).toContain('could not read the outputs of stack Nope in eu-west-1: Stack with id Nope does not exist');
      expect(result.stderr).toContain('--keys-table and --spend-table');
    } finally {
      await cloudformation.close();
    }
  });

  it('asks for the region when --stack comes without one, naming the region the stack\'s name implies, and calls nothing', async () => {
    // GIVEN a CloudFormation endpoint, and no region anywhere (no AWS_REGION, no config file)
    const cloudformation = await startFakeCloudFormation();
    try {
      const env = { ...cloudformation.env, AWS_CONFIG_FILE: '/nonexistent/tollgate-test-config', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/tollgate-test-credentials' };

      // WHEN
      const result = await run(['--stack', 'Tollgate-eu-west-1', 'keys', 'list'], env);
      const unnamed = await run(['--stack', 'gateway', 'keys', 'list'], env);

      // THEN a usage error that says what to add, not a stack that "could not be read"
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("--stack Tollgate-eu-west-1 needs the stack's region: add --region eu-west-1 (or set AWS_REGION)");
      expect(result.stderr).not.toContain('could not read');
      expect(unnamed.stderr).toContain("--stack gateway needs the stack's region: add --region <region>");
      expect(cloudformation.requests).toEqual([]);
    } finally {
      await cloudformation.close();
    }
  });

  it('refuses an option without its value', async () => {
    await expect(applyStackTarget(['--region', '--keys-table', 'K'], io({}))).rejects.toThrow(UsageError);
  });
});

/** CloudFormation's query API on loopback: XML answers, as the real service gives them. */
async function startFakeCloudFormation(): Promise<RecordingServer & { env: NodeJS.ProcessEnv }> {
  const server = await startRecordingServer((request, res) => {
    const known = request.body.toString().includes('StackName=Tollgate-eu-west-1');
    res.writeHead(known ? 200 : 400, { 'content-type': 'text/xml' });
    res.end(
      known
        ? `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>
            <StackName>Tollgate-eu-west-1</StackName><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-11-27T10:00:00Z</CreationTime>
            <Outputs>
              <member><OutputKey>KeysTableName</OutputKey><OutputValue>tollgate-keys-A1</OutputValue></member>
              <member><OutputKey>SpendTableName</OutputKey><OutputValue>tollgate-spend-B2</OutputValue></member>
            </Outputs></member></Stacks></DescribeStacksResult>
            <ResponseMetadata><RequestId>b9b4b068-3a41-11e5-94eb-example</RequestId></ResponseMetadata></DescribeStacksResponse>`
        : `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ValidationError</Code>
            <Message>Stack with id Nope does not exist</Message></Error><RequestId>b9b4b068-example</RequestId></ErrorResponse>`,
    );
  });
  return Object.assign(server, {
    env: { AWS_ENDPOINT_URL_CLOUDFORMATION: server.origin, AWS_ACCESS_KEY_ID: 'AKIDTOLLGATETEST', AWS_SECRET_ACCESS_KEY: 'test-secret' },
  });
}
