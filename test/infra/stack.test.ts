import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnElement, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { LAMBDA_ENV } from '../../lambda/handlers/env';
import { DEFAULT_METRICS_NAMESPACE, publishedMetrics } from '../../lambda/observability/catalog';
import { PRICE_REFRESH_TABLE_ACTIONS } from '../../lib/price-refresh';
import { RECONCILER_TABLE_ACTIONS } from '../../lib/reconciler';
import { BEDROCK_ACTIONS, PROXY_TABLE_ACTIONS } from '../../lib/proxy';
import { KEY_ADMIN_ACTIONS, TollgateStack, type TollgateStackProps } from '../../lib/tollgate-stack';
import { tempDir } from '../cli/run';
import { APP_CONTEXT, appFromEntryPoint } from './support/entry-point';

function synth(props?: TollgateStackProps) {
  const stack = new TollgateStack(new App({ context: APP_CONTEXT }), 'Test', { env: { account: '123456789012', region: 'eu-west-1' }, ...props });
  return { stack, template: Template.fromStack(stack) };
}

const keySchema = (...keys: Array<[string, 'HASH' | 'RANGE']>) => ({
  KeySchema: keys.map(([AttributeName, KeyType]) => ({ AttributeName, KeyType })),
  AttributeDefinitions: keys.map(([AttributeName]) => ({ AttributeName, AttributeType: 'S' })),
});

type Json = Record<string, unknown>;
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Json;
}

/** Every statement of every inline policy attached to the role of the function whose logical id starts with `prefix`. */
function roleStatements(template: Template, prefix: string): Statement[] {
  const functions = template.findResources('AWS::Lambda::Function');
  const fn = Object.entries(functions).find(([id]) => id.startsWith(prefix));
  if (!fn) throw new Error(`no function ${prefix}*`);
  const role = ((fn[1]['Properties'] as Json)['Role'] as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
    ((policy['Properties'] as Json)['Roles'] as Array<{ Ref: string }>).some((ref) => ref.Ref === role),
  );
  return policies.flatMap((policy) => ((policy['Properties'] as Json)['PolicyDocument'] as { Statement: Statement[] }).Statement);
}

const actions = (statement: Statement) => (Array.isArray(statement.Action) ? statement.Action : [statement.Action]);
/** The logical id of a construct's CloudFormation resource. */
const logicalId = (stack: Stack, construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
const refTo = (stack: Stack, construct: { node: { defaultChild?: unknown } }) => ({ 'Fn::GetAtt': [logicalId(stack, construct), 'Arn'] });

describe('TollgateStack: tables', () => {
  test('keys table is keyed by pk alone', () => {
    // GIVEN
    const { stack, template } = synth();

    // WHEN
    const id = logicalId(stack, stack.keysTable);

    // THEN
    expect(template.toJSON().Resources[id].Properties).toMatchObject(keySchema(['pk', 'HASH']));
  });

  test('spend table is keyed by pk and sk, and expires reservations and rate counters through TTL on expiresAt', () => {
    // GIVEN
    const { stack, template } = synth();

    // WHEN
    const id = logicalId(stack, stack.spendTable);

    // THEN
    expect(template.toJSON().Resources[id].Properties).toMatchObject({
      ...keySchema(['pk', 'HASH'], ['sk', 'RANGE']),
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  test('keys and spend tables are on-demand, with point-in-time recovery and the default recovery window, and survive deletion (stack or console)', () => {
    // GIVEN
    const { stack, template } = synth();

    // WHEN
    const resources = template.toJSON().Resources as Record<string, Json>;
    const durable = [stack.keysTable, stack.spendTable].map((table) => resources[logicalId(stack, table)]!);

    // THEN
    template.resourceCountIs('AWS::DynamoDB::Table', 3);
    for (const table of durable) {
      expect(table).toMatchObject({
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: { BillingMode: 'PAY_PER_REQUEST', PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }, DeletionProtectionEnabled: true },
      });
      expect((table['Properties'] as Json)['ProvisionedThroughput']).toBeUndefined();
      expect(((table['Properties'] as Json)['PointInTimeRecoverySpecification'] as Json)['RecoveryPeriodInDays']).toBeUndefined();
    }
  });

  test('the prices table is on-demand and disposable: one refetchable item, no backups, deleted with the stack', () => {
    // GIVEN
    const { stack, template } = synth();

    // WHEN
    const table = (template.toJSON().Resources as Record<string, Json>)[logicalId(stack, stack.pricesTable)]!;

    // THEN
    expect(table).toMatchObject({ DeletionPolicy: 'Delete', Properties: { BillingMode: 'PAY_PER_REQUEST', ...keySchema(['pk', 'HASH']) } });
    expect((table['Properties'] as Json)['PointInTimeRecoverySpecification']).toBeUndefined();
  });

  test('recoveryPeriodInDays narrows the recovery window of the keys and spend tables', () => {
    // WHEN
    const { template } = synth({ recoveryPeriodInDays: 7 });

    // THEN
    expect(Object.keys(template.findResources('AWS::DynamoDB::Table', { Properties: { PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 7 } } }))).toHaveLength(2);
  });

  test('an out-of-range recovery window is rejected at synth time, not at deploy time', () => {
    expect(() => synth({ recoveryPeriodInDays: 36 })).toThrow(/recoveryPeriodInDays/);
  });

  test('a throwaway stage can let its keys and spend tables go with the stack (retainTables: false): no deletion protection, deleted on stack delete', () => {
    // WHEN
    const { stack, template } = synth({ retainTables: false });

    // THEN
    const resources = template.toJSON().Resources as Record<string, Json>;
    for (const table of [stack.keysTable, stack.spendTable].map((t) => resources[logicalId(stack, t)]!)) {
      expect(table).toMatchObject({ DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete', Properties: { PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } } });
      expect((table['Properties'] as Json)['DeletionProtectionEnabled']).not.toBe(true);
    }
  });

  test('the functions\' logs — each request\'s spend line, each reconciled reservation — outlive the stack until their retention ends, as the tables do; a throwaway stage\'s go with it', () => {
    // GIVEN
    const logGroups = (template: Template) => Object.values(template.findResources('AWS::Logs::LogGroup'));

    // THEN
    const kept = logGroups(synth().template);
    expect(kept).toHaveLength(3);
    for (const group of kept) expect(group).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain', Properties: { RetentionInDays: 30 } });
    for (const group of logGroups(synth({ retainTables: false }).template)) expect(group).toMatchObject({ DeletionPolicy: 'Delete' });
  });

  test('point-in-time recovery can be turned off (pointInTimeRecovery: false), and then no recovery window may be given', () => {
    // WHEN
    const { template } = synth({ pointInTimeRecovery: false });

    // THEN no table has backups, and the keys and spend tables still survive deletion
    expect(Object.keys(template.findResources('AWS::DynamoDB::Table', { Properties: { PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } } }))).toEqual([]);
    expect(Object.keys(template.findResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', Properties: { DeletionProtectionEnabled: true } }))).toHaveLength(2);
    expect(() => synth({ pointInTimeRecovery: false, recoveryPeriodInDays: 7 })).toThrow(/recoveryPeriodInDays .*pointInTimeRecovery/);
  });
});

describe('TollgateStack: the proxy function', () => {
  test('runs on Node.js 22 on ARM64 with X-Ray, behind a streaming function URL with auth NONE', () => {
    // GIVEN
    const { template } = synth();

    // THEN
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      MemorySize: 512,
      Timeout: 900,
      Handler: 'index.handler',
      Environment: { Variables: Match.objectLike({ [LAMBDA_ENV.keysTable]: Match.anyValue(), [LAMBDA_ENV.spendTable]: Match.anyValue(), [LAMBDA_ENV.pricesTable]: Match.anyValue(), [LAMBDA_ENV.metricsNamespace]: 'Tollgate' }) },
    });
    template.resourceCountIs('AWS::Lambda::Url', 1);
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE', InvokeMode: 'RESPONSE_STREAM' });
    template.hasResourceProperties('AWS::Lambda::Permission', { Action: 'lambda:InvokeFunctionUrl', Principal: '*', FunctionUrlAuthType: 'NONE' });
  });

  test('reserves 100 concurrent executions by default: a ceiling for floods and long streams, and a floor the account\'s other functions cannot take', () => {
    // WHEN
    const fallback = synth().template;
    const more = synth({ proxyReservedConcurrency: 250 }).template;
    const shared = synth({ proxyReservedConcurrency: 'unreserved' }).template;

    // THEN
    fallback.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.handler', Timeout: 900, ReservedConcurrentExecutions: 100 });
    more.hasResourceProperties('AWS::Lambda::Function', { Timeout: 900, ReservedConcurrentExecutions: 250 });
    expect(Object.keys(shared.findResources('AWS::Lambda::Function', { Properties: { ReservedConcurrentExecutions: Match.anyValue() } }))).toEqual([]);
    // AND only the proxy has a reservation: the scheduled functions run one at a time anyway
    expect(Object.keys(fallback.findResources('AWS::Lambda::Function', { Properties: { ReservedConcurrentExecutions: Match.anyValue() } }))).toEqual([
      expect.stringMatching(/^ProxyFunction/),
    ]);
  });

  test('spreads uncapped spend counters over shards only when told to', () => {
    // WHEN
    const plain = synth().template;
    const sharded = synth({ spendShards: 4 }).template;

    // THEN
    const withShards = (template: Template) =>
      Object.keys(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: Match.objectLike({ [LAMBDA_ENV.spendShards]: '4' }) } } }));
    expect(withShards(plain)).toEqual([]);
    expect(withShards(sharded)).toEqual([expect.stringMatching(/^ProxyFunction/)]);
  });

  test('its config reads every provider credential from the stack\'s secret, a field per provider', () => {
    // GIVEN
    const { stack } = synth();

    // WHEN
    const config = stack.resolve(stack.proxy.gatewayConfig) as { providers: Record<string, { credential: unknown }> };

    // THEN
    const secret = { Ref: logicalId(stack, stack.providerSecret) };
    expect(config.providers['openai']?.credential).toEqual({ secret, field: 'openai' });
    for (const [id, settings] of Object.entries(config.providers)) {
      if (id !== 'bedrock') expect(settings.credential).toEqual({ secret, field: id });
    }
    expect(config.providers['bedrock']?.credential).toBeUndefined();
  });

  test('Bedrock is called in the stack\'s own region, with the function\'s role, unless the config says otherwise', () => {
    // WHEN
    const { stack } = synth();
    const elsewhere = synth({ gatewayConfig: { providers: { bedrock: { options: { region: 'us-west-2' } } } } }).stack;

    // THEN
    const bedrock = (s: TollgateStack) => (s.resolve(s.proxy.gatewayConfig) as { providers: Record<string, Record<string, unknown>> }).providers['bedrock'];
    expect(bedrock(stack)).toEqual({ options: { region: 'eu-west-1' } });
    expect(bedrock(elsewhere)).toEqual({ options: { region: 'us-west-2' } });
  });

  test('a given config keeps its own credentials and settings, and an invalid one fails synth naming the field', () => {
    // GIVEN
    const { stack } = synth({ gatewayConfig: { providers: { openai: { baseUrl: 'https://proxy.internal/v1', credential: { secret: 'tollgate/Test/openai' } } } } });

    // THEN
    expect(stack.resolve(stack.proxy.gatewayConfig)).toMatchObject({ providers: { openai: { baseUrl: 'https://proxy.internal/v1', credential: { secret: 'tollgate/Test/openai' } } } });
    expect(() => synth({ gatewayConfig: { providers: { openai: { baseURL: 'x' } } } })).toThrow('TollgateProxy gatewayConfig: providers.openai.baseURL: unknown field');
  });

  test.each<[string, TollgateStackProps, RegExp]>([
    ['a 128 MB proxy', { proxyMemorySize: 128 }, /memorySize must be a whole number of MB from 256 to 10240, got 128/],
    ['a reserved concurrency of 0 (which would refuse every request)', { proxyReservedConcurrency: 0 }, /reservedConcurrency must be a whole number of concurrent executions \(at least 1\), or 'unreserved'/],
    ['a fractional reserved concurrency', { proxyReservedConcurrency: 2.5 }, /reservedConcurrency must be a whole number/],
    ['eight spend shards', { spendShards: 8 }, /spendShards must be a whole number from 1 to 4, got 8/],
    ['a 1-minute price refresh', { priceRefreshInterval: Duration.minutes(1) }, /interval must be a whole number of minutes from 5 minutes to 8 hours/],
    ['an ftp price URL', { pricesUrl: 'ftp://example.com/data.json' }, /url must be an http\(s\) URL/],
    ['a stale-price age shorter than two refreshes', { maxPriceAge: Duration.hours(1) }, /maxPriceAge must be at least twice the price refresh interval/],
    ['a 0% error-rate alarm', { serverErrorRatePercent: 0 }, /serverErrorRatePercent must be above 0/],
    ['an alarm email without a domain', { alarmEmail: 'ops' }, /alarmEmail must be an email address/],
    [
      'a reservation TTL the reconciler could expire mid-request',
      { gatewayConfig: { limits: { reservationTtlSeconds: 600 } } },
      /limits\.reservationTtlSeconds \(600\) must exceed the proxy's 900 s timeout by 60 s.*set it to at least 960, or shorten the proxy's timeout/,
    ],
  ])('rejects %s at synth time with a message that says how to fix it', (_case, props, message) => {
    expect(() => synth(props)).toThrow(message);
  });
});

describe('TollgateStack: least-privilege IAM', () => {
  test('the proxy may use its three tables, read only tollgate\'s secrets, decrypt only through Secrets Manager, invoke Bedrock models — and nothing more', () => {
    // GIVEN
    const { stack, template } = synth();

    // WHEN
    const statements = roleStatements(template, 'ProxyFunction');

    // THEN every statement is one of these, exactly
    const secretArn = { Ref: logicalId(stack, stack.providerSecret) };
    expect(statements).toEqual([
      { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
      { Effect: 'Allow', Action: [...PROXY_TABLE_ACTIONS.keys], Resource: refTo(stack, stack.keysTable) },
      { Effect: 'Allow', Action: [...PROXY_TABLE_ACTIONS.spend], Resource: refTo(stack, stack.spendTable) },
      { Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: refTo(stack, stack.pricesTable) },
      {
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: [secretArn, 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:tollgate/Test/*'],
      },
      {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: { 'Fn::GetAtt': [logicalId(stack, stack.secretsKey), 'Arn'] },
        Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
      },
      {
        Effect: 'Allow',
        Action: [...BEDROCK_ACTIONS],
        Resource: [
          'arn:aws:bedrock:*::foundation-model/*',
          'arn:aws:bedrock:eu-west-1:123456789012:inference-profile/*',
          'arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/*',
        ],
      },
    ]);
    // AND no wildcard action, no table management, no Scan
    const all = statements.flatMap(actions);
    expect(all.filter((action) => action.includes('*'))).toEqual([]);
    expect(all.filter((action) => /dynamodb:(Scan|DeleteTable|CreateTable|UpdateTable|BatchWriteItem)/.test(action))).toEqual([]);
    expect(all.filter((action) => action.startsWith('bedrock:'))).toEqual(['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream', 'bedrock:CountTokens']);
  });

  test('the price refresher may only read and write the prices table', () => {
    // GIVEN
    const { stack, template } = synth();

    // WHEN
    const statements = roleStatements(template, 'PriceRefreshFunction');

    // THEN
    expect(statements).toEqual([
      { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
      { Effect: 'Allow', Action: [...PRICE_REFRESH_TABLE_ACTIONS], Resource: refTo(stack, stack.pricesTable) },
    ]);
  });

  test('the reconciler may only find and settle reservations in the spend table', () => {
    // GIVEN
    const { stack, template } = synth();

    // WHEN
    const statements = roleStatements(template, 'ReconcilerFunction');

    // THEN
    expect(statements).toEqual([
      { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
      { Effect: 'Allow', Action: [...RECONCILER_TABLE_ACTIONS], Resource: refTo(stack, stack.spendTable) },
    ]);
  });

  test('every role carries only the basic Lambda logging policy besides', () => {
    // GIVEN
    const { template } = synth();

    // THEN
    const roles = Object.values(template.findResources('AWS::IAM::Role'));
    expect(roles).toHaveLength(3);
    for (const role of roles) {
      expect((role['Properties'] as Json)['ManagedPolicyArns']).toEqual([
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AWSLambdaBasicExecutionRole']] },
      ]);
    }
  });
});

describe('TollgateStack: secrets', () => {
  test('the provider secret is encrypted with the stack\'s own rotating KMS key and starts empty', () => {
    // GIVEN
    const { stack, template } = synth();

    // THEN
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      KmsKeyId: { 'Fn::GetAtt': [logicalId(stack, stack.secretsKey), 'Arn'] },
      SecretString: '{}',
    });
  });

  test('the secrets key outlives the stack as the tables do: the kept keys table\'s BYOK secrets, made outside the stack, need it; a throwaway stage\'s goes with it', () => {
    // GIVEN
    const kept = synth();
    const throwaway = synth({ retainTables: false });

    // THEN
    const key = ({ stack, template }: ReturnType<typeof synth>) => (template.toJSON().Resources as Record<string, Json>)[logicalId(stack, stack.secretsKey)]!;
    expect(key(kept)).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(key(throwaway)).toMatchObject({ DeletionPolicy: 'Delete', Properties: { PendingWindowInDays: 7 } });
    // AND the provider secret, whose credentials the operator keeps elsewhere, goes with the stack either way
    expect(Object.values(kept.template.findResources('AWS::SecretsManager::Secret')).map((secret) => secret['DeletionPolicy'])).toEqual(['Delete']);
  });
});

describe('TollgateStack: the secrets key', () => {
  test('its policy lets the account administer the key through IAM but use it only through Secrets Manager in the stack\'s region', () => {
    // GIVEN
    const { stack, template } = synth();

    // WHEN
    const key = (template.toJSON().Resources as Record<string, Json>)[logicalId(stack, stack.secretsKey)]!;
    const statements = ((key['Properties'] as Json)['KeyPolicy'] as { Statement: Statement[] }).Statement;

    // THEN no statement grants kms:* (KMS's default policy), and only the administration statement is unconditional
    const root = { AWS: 'arn:aws:iam::123456789012:root' };
    expect(statements[0]).toEqual({ Sid: 'AdministerThroughIam', Effect: 'Allow', Principal: root, Action: [...KEY_ADMIN_ACTIONS], Resource: '*' });
    const everyAction = statements.flatMap(actions);
    expect(everyAction).not.toContain('kms:*');
    for (const statement of statements.slice(1)) {
      expect(statement).toMatchObject({ Effect: 'Allow', Principal: root, Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } } });
    }
    // AND use (decrypt, data keys, grants) appears only under that condition
    const usable = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:CreateGrant', 'kms:ReEncrypt*'];
    expect(actions(statements[0]!).filter((action) => usable.includes(action))).toEqual([]);
    expect(statements.slice(1).flatMap(actions)).toEqual(expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey*']));
  });
});

describe('TollgateStack: price refresh', () => {
  test('an EventBridge rule runs the refresher every hour, without retries', () => {
    // GIVEN
    const { template } = synth();

    // THEN
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^PriceRefreshFunction'), 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } })],
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Environment: { Variables: Match.objectLike({ [LAMBDA_ENV.pricesUrl]: 'https://raw.githubusercontent.com/pydantic/genai-prices/main/prices/new_data/v2/data.json' }) },
    });
  });

  test('a second rule runs the reservation reconciler every five minutes', () => {
    // GIVEN
    const { template } = synth();

    // THEN
    template.resourceCountIs('AWS::Events::Rule', 2);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReconcilerFunction'), 'Arn'] } })],
    });
  });

  test('a scheduled run that could not start before the next is due is dropped, not run late: no pile of queued runs after a throttle', () => {
    // GIVEN
    const { template } = synth();

    // THEN each function's asynchronous invocations expire after one interval (not Lambda's 6 hours), without retries
    const configs = Object.values(template.findResources('AWS::Lambda::EventInvokeConfig')).map((config) => config['Properties'] as Json);
    expect(configs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ FunctionName: { Ref: expect.stringMatching(/^PriceRefreshFunction/) }, MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 3600 }),
        expect.objectContaining({ FunctionName: { Ref: expect.stringMatching(/^ReconcilerFunction/) }, MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 300 }),
      ]),
    );
    expect(configs).toHaveLength(2);
    // AND an interval past Lambda's longest event age gets that
    const longest = Object.values(synth({ priceRefreshInterval: Duration.hours(8) }).template.findResources('AWS::Lambda::EventInvokeConfig')).map((config) => (config['Properties'] as Json)['MaximumEventAgeInSeconds']);
    expect(longest).toEqual(expect.arrayContaining([21_600, 300]));
  });

  test('the interval and the URL can be changed', () => {
    // WHEN
    const { template } = synth({ priceRefreshInterval: Duration.hours(6), pricesUrl: 'https://mirror.internal/prices.json' });

    // THEN
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(6 hours)' });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ [LAMBDA_ENV.pricesUrl]: 'https://mirror.internal/prices.json' }) } });
  });
});

/** The metric references in a dashboard body: SEARCH expressions and plain metric arrays, as `Name|Dim1,Dim2`. */
function dashboardMetrics(template: Template): { namespaces: Set<string>; metrics: Set<string>; body: string } {
  const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]!;
  const parts = (((dashboard['Properties'] as Json)['DashboardBody'] as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1]);
  const body = parts.map((part) => (typeof part === 'string' ? part : 'REGION')).join('');
  const parsed = JSON.parse(body) as { widgets: Array<{ properties: { metrics?: unknown[][] } }> };
  const namespaces = new Set<string>();
  const metrics = new Set<string>();
  for (const widget of parsed.widgets) {
    for (const row of widget.properties.metrics ?? []) {
      const options = row.at(-1) as { expression?: string } | undefined;
      const search = options?.expression && /^SEARCH\('\{"([^"]+)",([^}]*)\} MetricName="([^"]+)"'/.exec(options.expression);
      if (search) {
        namespaces.add(search[1]!);
        metrics.add(`${search[3]}|${search[2]}`);
      } else if (typeof row[0] === 'string') {
        // [namespace, name, dim1, value1, ..., options?]
        const names = row.filter((cell): cell is string => typeof cell === 'string');
        if (names[0]!.startsWith('AWS/')) continue; // AWS's own metrics: the platform widgets
        namespaces.add(names[0]!);
        metrics.add(`${names[1]}|${names.slice(2).filter((_, i) => i % 2 === 0).join(',')}`);
      }
    }
  }
  return { namespaces, metrics, body };
}

describe('TollgateStack: dashboard and alarms', () => {
  test('the dashboard reads only metrics the EMF logger publishes, and shows cost by project and by model, requests, errors and p50/p99 latency', () => {
    // GIVEN
    const { template } = synth();

    // WHEN
    const { namespaces, metrics, body } = dashboardMetrics(template);

    // THEN
    expect([...namespaces]).toEqual([DEFAULT_METRICS_NAMESPACE]);
    for (const metric of metrics) expect(publishedMetrics()).toContain(metric);
    expect([...metrics]).toEqual(expect.arrayContaining(['CostUSD|Project', 'CostUSD|Provider,Model', 'Requests|', 'Requests|Provider', 'ServerErrors|', 'ClientErrors|', 'LatencyMs|', 'PriceDataAgeHours|']));
    expect(body).toContain('"stat":"p50"');
    expect(body).toContain('"stat":"p99"');
    expect(body).toContain('100 * serverErrors / requests');
  });

  test('a custom metrics namespace reaches both the functions and the dashboard', () => {
    // WHEN
    const { template } = synth({ metricsNamespace: 'Tollgate/staging' });

    // THEN
    expect([...dashboardMetrics(template).namespaces]).toEqual(['Tollgate/staging']);
    expect(Object.keys(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: Match.objectLike({ [LAMBDA_ENV.metricsNamespace]: 'Tollgate/staging' }) } } }))).toHaveLength(3);
  });

  test('the gateway\'s own alarms — 5xx rate, spend-write failures, store failures, impossible usage, stale prices — on the published metrics', () => {
    // GIVEN
    const { template } = synth();

    // THEN
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 5,
      ComparisonOperator: 'GreaterThanThreshold',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(requests >= 10, 100 * errors / requests, 0)' }),
        Match.objectLike({ Id: 'requests', MetricStat: Match.objectLike({ Metric: { MetricName: 'Requests', Namespace: 'Tollgate' }, Stat: 'Sum' }) }),
        Match.objectLike({ Id: 'errors', MetricStat: Match.objectLike({ Metric: { MetricName: 'ServerErrors', Namespace: 'Tollgate' }, Stat: 'Sum' }) }),
      ]),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'SpendWriteFailures', Namespace: 'Tollgate', Statistic: 'Sum', Threshold: 1, TreatMissingData: 'notBreaching' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'StoreFailures',
      Namespace: 'Tollgate',
      Dimensions: Match.absent(),
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'UsageClamped', Namespace: 'Tollgate', Statistic: 'Sum', Threshold: 1, TreatMissingData: 'notBreaching' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'PriceDataAgeHours', Namespace: 'Tollgate', Statistic: 'Maximum', Threshold: 48, Period: 10800, TreatMissingData: 'breaching' });
  });

  describe('platform alarms: what AWS reports, for failures no log line of the gateway can', () => {
    const fn = (prefix: string) => [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp(`^${prefix}`) } }];
    const stat = (namespace: string, metric: string, dimensions: unknown, stat: string, period: number) =>
      Match.objectLike({ MetricStat: { Metric: { Namespace: namespace, MetricName: metric, Dimensions: dimensions }, Stat: stat, Period: period } });
    const table = (prefix: string) => [{ Name: 'TableName', Value: { Ref: Match.stringLikeRegexp(`^${prefix}`) } }];
    test.each<[string, Record<string, unknown>]>([
      [
        'proxy invocation errors, as a rate of invocations',
        { Threshold: 5, Metrics: Match.arrayWith([Match.objectLike({ Expression: 'IF(total >= 10, 100 * failed / total, 0)' }), stat('AWS/Lambda', 'Errors', fn('ProxyFunction'), 'Sum', 300), stat('AWS/Lambda', 'Invocations', fn('ProxyFunction'), 'Sum', 300)]) },
      ],
      ['proxy throttles', { Namespace: 'AWS/Lambda', MetricName: 'Throttles', Dimensions: fn('ProxyFunction'), Statistic: 'Sum', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' }],
      ['proxy invocations reaching their deadline (timeout less the 30 s kept to settle)', { Namespace: 'AWS/Lambda', MetricName: 'Duration', Dimensions: fn('ProxyFunction'), Statistic: 'Maximum', Threshold: 870_000 }],
      ['proxy concurrency past 80% of its reservation', { Namespace: 'AWS/Lambda', MetricName: 'ConcurrentExecutions', Dimensions: fn('ProxyFunction'), Statistic: 'Maximum', Threshold: 80, Period: 60 }],
      [
        'function URL 5xx, as a rate of URL requests',
        { Threshold: 5, Metrics: Match.arrayWith([stat('AWS/Lambda', 'Url5xxCount', fn('ProxyFunction'), 'Sum', 300), stat('AWS/Lambda', 'UrlRequestCount', fn('ProxyFunction'), 'Sum', 300)]) },
      ],
      [
        'keys table throttled reads and writes',
        { Threshold: 1, Metrics: Match.arrayWith([stat('AWS/DynamoDB', 'ReadThrottleEvents', table('KeysTable'), 'Sum', 300), stat('AWS/DynamoDB', 'WriteThrottleEvents', table('KeysTable'), 'Sum', 300)]) },
      ],
      [
        'spend table throttled reads and writes',
        { Threshold: 1, Metrics: Match.arrayWith([stat('AWS/DynamoDB', 'ReadThrottleEvents', table('SpendTable'), 'Sum', 300), stat('AWS/DynamoDB', 'WriteThrottleEvents', table('SpendTable'), 'Sum', 300)]) },
      ],
      [
        'DynamoDB errors on AWS\'s side (SystemErrors), on every operation the functions use on the keys and spend tables, in 2 of 3 periods',
        {
          Threshold: 1,
          EvaluationPeriods: 3,
          DatapointsToAlarm: 2,
          Metrics: Match.arrayWith([
            ...['GetItem', 'UpdateItem'].map((operation) => stat('AWS/DynamoDB', 'SystemErrors', [{ Name: 'Operation', Value: operation }, ...table('KeysTable')], 'Sum', 300)),
            ...['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query'].map((operation) =>
              stat('AWS/DynamoDB', 'SystemErrors', [{ Name: 'Operation', Value: operation }, ...table('SpendTable')], 'Sum', 300),
            ),
          ]),
        },
      ],
      ['reconciler failures in 2 of 3 runs', { Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: fn('ReconcilerFunction'), Period: 300, EvaluationPeriods: 3, DatapointsToAlarm: 2, Threshold: 1 }],
      ['a reconciler that stopped running (no invocations is breaching)', { Namespace: 'AWS/Lambda', MetricName: 'Invocations', Dimensions: fn('ReconcilerFunction'), ComparisonOperator: 'LessThanThreshold', Threshold: 1, TreatMissingData: 'breaching' }],
      [
        'three failed price refreshes in a row, reported or crashed',
        {
          EvaluationPeriods: 3,
          Threshold: 1,
          Metrics: Match.arrayWith([stat('Tollgate', 'PriceRefreshFailures', Match.absent(), 'Sum', 3600), stat('AWS/Lambda', 'Errors', fn('PriceRefreshFunction'), 'Sum', 3600)]),
        },
      ],
    ])('%s', (_name, properties) => {
      synth().template.hasResourceProperties('AWS::CloudWatch::Alarm', properties);
    });

    test('every alarm notifies the topic, on alarm and on recovery, and shows on the dashboard', () => {
      // GIVEN
      const { stack, template } = synth({ alarmEmail: 'ops@example.com' });

      // THEN
      const alarms = template.findResources('AWS::CloudWatch::Alarm');
      expect(Object.keys(alarms)).toHaveLength(16);
      for (const alarm of Object.values(alarms)) {
        const properties = alarm['Properties'] as Json;
        expect(properties['AlarmActions']).toEqual([{ Ref: expect.stringMatching(/^MonitoringAlarmTopic/) }]);
        expect(properties['OKActions']).toEqual(properties['AlarmActions']);
      }
      template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
      const { body } = dashboardMetrics(template);
      expect(stack.monitoring.alarms).toHaveLength(16);
      const widgetAlarms = ((JSON.parse(body) as { widgets: Array<{ properties: { alarms?: unknown[] } }> }).widgets.find((w) => w.properties.alarms)?.properties.alarms ?? []);
      expect(widgetAlarms).toHaveLength(16);
    });

    test('without reserved concurrency there is no concurrency alarm', () => {
      const { template } = synth({ proxyReservedConcurrency: 'unreserved' });
      expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'ConcurrentExecutions' } }))).toEqual([]);
      template.resourceCountIs('AWS::CloudWatch::Alarm', 15);
    });
  });

  test('the alarm topic refuses publishing over plain HTTP', () => {
    // GIVEN
    const { stack, template } = synth();

    // THEN
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: logicalId(stack, stack.monitoring.topic) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Principal: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('TollgateStack: outputs', () => {
  test('the function URL, the table names and what an operator needs next are stack outputs', () => {
    // GIVEN
    const { stack, template } = synth();

    // THEN
    const ref = (construct: { node: { defaultChild?: unknown } }) => ({ Ref: logicalId(stack, construct) });
    template.hasOutput('FunctionUrl', { Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ProxyFunctionFunctionUrl'), 'FunctionUrl'] } });
    template.hasOutput('KeysTableName', { Value: ref(stack.keysTable) });
    template.hasOutput('SpendTableName', { Value: ref(stack.spendTable) });
    template.hasOutput('PricesTableName', { Value: ref(stack.pricesTable) });
    for (const output of ['ProviderSecretArn', 'SecretsKeyArn', 'PriceRefreshFunctionName', 'DashboardName', 'AlarmTopicArn']) template.hasOutput(output, {});
  });
});

describe('bin/cdk-app.ts', () => {
  test('defaults to a single us-east-1 stack', () => {
    // WHEN
    const stacks = appFromEntryPoint({}).node.children.filter(Stack.isStack);

    // THEN
    expect(stacks.map((s) => [s.stackName, s.region])).toEqual([['Tollgate-us-east-1', 'us-east-1']]);
  });

  test('-c proxyConcurrency sets the reservation, or lifts it with "unreserved"', () => {
    // WHEN
    const reserved = appFromEntryPoint({ proxyConcurrency: '40' }).node.children.filter(Stack.isStack)[0]!;
    const shared = appFromEntryPoint({ proxyConcurrency: 'unreserved' }).node.children.filter(Stack.isStack)[0]!;

    // THEN
    Template.fromStack(reserved).hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 40 });
    expect(Object.keys(Template.fromStack(shared).findResources('AWS::Lambda::Function', { Properties: { ReservedConcurrentExecutions: Match.anyValue() } }))).toEqual([]);
    expect(() => appFromEntryPoint({ proxyConcurrency: 'lots' })).toThrow(/reservedConcurrency must be a whole number/);
  });

  test('-c retainTables=false and -c pointInTimeRecovery=false reach the tables; a value not true or false fails synth', () => {
    // WHEN
    const [stack] = appFromEntryPoint({ retainTables: 'false', pointInTimeRecovery: 'false' }).node.children.filter(Stack.isStack);
    const template = Template.fromStack(stack!);

    // THEN
    expect(Object.keys(template.findResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain' }))).toEqual([]);
    expect(Object.keys(template.findResources('AWS::DynamoDB::Table', { Properties: { PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } } }))).toEqual([]);
    expect(() => appFromEntryPoint({ retainTables: 'no' })).toThrow('-c retainTables must be "true" or "false", got "no"');
  });

  test('a stack with kept tables has termination protection (deleting it loses the function URL every client is configured with); a throwaway one has none; -c terminationProtection decides', () => {
    // WHEN
    const protectedBy = (context: Record<string, unknown>) => {
      const assembly = appFromEntryPoint(context).synth();
      return assembly.stacks.map((stack) => stack.terminationProtection);
    };

    // THEN
    expect(protectedBy({})).toEqual([true]);
    expect(protectedBy({ retainTables: 'false' })).toEqual([false]);
    expect(protectedBy({ terminationProtection: 'false' })).toEqual([false]);
    expect(protectedBy({ retainTables: 'false', terminationProtection: 'true' })).toEqual([true]);
  });

  test('-c proxyMemorySize and -c logRetentionDays reach the functions; a retention CloudWatch does not offer fails synth, naming those it does', () => {
    // WHEN
    const [stack] = appFromEntryPoint({ proxyMemorySize: '1024', logRetentionDays: '365' }).node.children.filter(Stack.isStack);
    const template = Template.fromStack(stack!);

    // THEN
    template.hasResourceProperties('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('^tollgate gateway'), MemorySize: 1024 });
    expect(Object.values(template.findResources('AWS::Logs::LogGroup')).map((group) => (group['Properties'] as Json)['RetentionInDays'])).toEqual([365, 365, 365]);
    expect(() => appFromEntryPoint({ proxyMemorySize: 'lots' })).toThrow('TollgateProxy memorySize must be a whole number of MB from 256 to 10240, got NaN');
    expect(() => appFromEntryPoint({ logRetentionDays: '100' })).toThrow(/-c logRetentionDays must be one of CloudWatch's retention periods \(1, 3, 5, 7, 14, 30, .*, 3653\), got "100"/);
  });

  test('-c config and -c alarmEmail reach every region\'s stack', () => {
    // GIVEN a config file, as an operator would keep one next to the app
    const dir = tempDir('tollgate-cdk-config-');
    const file = join(dir.path, 'tollgate.aws.json');
    writeFileSync(file, JSON.stringify({ providers: { openai: { baseUrl: 'https://egress.internal/v1' } } }));
    try {
      // WHEN
      const stacks = appFromEntryPoint({ regions: 'us-east-1,eu-west-1', config: file, alarmEmail: 'ops@example.com' }).node.children.filter(Stack.isStack) as TollgateStack[];

      // THEN
      for (const stack of stacks) {
        expect(stack.resolve(stack.proxy.gatewayConfig)).toMatchObject({ providers: { openai: { baseUrl: 'https://egress.internal/v1', credential: { field: 'openai' } } } });
        Template.fromStack(stack).hasResourceProperties('AWS::SNS::Subscription', { Endpoint: 'ops@example.com' });
      }
    } finally {
      dir.remove();
    }
  });

  test('two regions produce two self-contained stacks, each pinned to its region, with its own dashboard name', () => {
    // WHEN
    const stacks = appFromEntryPoint({ regions: 'us-east-1, eu-west-1' }).node.children.filter(Stack.isStack);

    // THEN
    expect(stacks.map((s) => [s.stackName, s.region])).toEqual([
      ['Tollgate-us-east-1', 'us-east-1'],
      ['Tollgate-eu-west-1', 'eu-west-1'],
    ]);
    for (const stack of stacks) {
      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::DynamoDB::Table', 3);
      template.resourceCountIs('AWS::Lambda::Url', 1);
      template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: stack.stackName });
      expect(stack.dependencies).toEqual([]);
    }
  });
});
