import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnTable } from 'aws-cdk-lib/aws-dynamodb';
import { TollgateStack } from '../../lib/tollgate-stack';

/** Loads bin/cdk-app.ts afresh with the given CLI context, exactly as `cdk synth -c ...` would. */
function appFromEntryPoint(context: Record<string, string>): App {
  const saved = process.env.CDK_CONTEXT_JSON;
  process.env.CDK_CONTEXT_JSON = JSON.stringify(context);
  try {
    let app: App | undefined;
    jest.isolateModules(() => {
      app = (require('../../bin/cdk-app') as { app: App }).app;
    });
    return app!;
  } finally {
    if (saved === undefined) delete process.env.CDK_CONTEXT_JSON;
    else process.env.CDK_CONTEXT_JSON = saved;
  }
}

function synth(props?: ConstructorParameters<typeof TollgateStack>[2]) {
  const stack = new TollgateStack(new App(), 'Test', props);
  return { stack, template: Template.fromStack(stack) };
}

const keySchema = (...keys: Array<[string, 'HASH' | 'RANGE']>) => ({
  KeySchema: keys.map(([AttributeName, KeyType]) => ({ AttributeName, KeyType })),
  AttributeDefinitions: keys.map(([AttributeName]) => ({ AttributeName, AttributeType: 'S' })),
});

describe('TollgateStack', () => {
  test('keys table is keyed by pk alone', () => {
    // GIVEN
    const { stack, template } = synth();

    // WHEN
    const logicalId = stack.getLogicalId(stack.keysTable.node.defaultChild as CfnTable);

    // THEN
    expect(template.toJSON().Resources[logicalId].Properties).toMatchObject(keySchema(['pk', 'HASH']));
  });

  test('spend table is keyed by pk and sk', () => {
    // GIVEN
    const { stack, template } = synth();

    // WHEN
    const logicalId = stack.getLogicalId(stack.spendTable.node.defaultChild as CfnTable);

    // THEN
    expect(template.toJSON().Resources[logicalId].Properties).toMatchObject(keySchema(['pk', 'HASH'], ['sk', 'RANGE']));
  });

  test('both tables are on-demand, with point-in-time recovery and the default recovery window', () => {
    // GIVEN
    const { template } = synth();

    // WHEN
    const tables = template.findResources('AWS::DynamoDB::Table');

    // THEN
    expect(Object.keys(tables)).toHaveLength(2);
    template.allResourcesProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      ProvisionedThroughput: Match.absent(),
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: Match.absent() },
    });
  });

  test('recoveryPeriodInDays narrows the recovery window of both tables', () => {
    // GIVEN
    const props = { recoveryPeriodInDays: 7 };

    // WHEN
    const { template } = synth(props);

    // THEN
    template.allResourcesProperties('AWS::DynamoDB::Table', {
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 7 },
    });
  });

  test('an out-of-range recovery window is rejected at synth time, not at deploy time', () => {
    // GIVEN
    const props = { recoveryPeriodInDays: 36 };

    // WHEN
    const build = () => synth(props);

    // THEN
    expect(build).toThrow(/recoveryPeriodInDays/);
  });

  test('both tables survive stack deletion and replacement', () => {
    // GIVEN
    const { template } = synth();

    // WHEN
    const tables = Object.values(template.findResources('AWS::DynamoDB::Table'));

    // THEN
    expect(tables).toHaveLength(2);
    for (const table of tables) {
      expect(table).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
  });

  test('both table names are stack outputs', () => {
    // GIVEN
    const { stack, template } = synth();

    // WHEN
    const ref = (table: TollgateStack['keysTable']) => ({ Ref: stack.getLogicalId(table.node.defaultChild as CfnTable) });

    // THEN
    template.hasOutput('KeysTableName', { Value: ref(stack.keysTable) });
    template.hasOutput('SpendTableName', { Value: ref(stack.spendTable) });
  });
});

describe('bin/cdk-app.ts', () => {
  test('defaults to a single us-east-1 stack', () => {
    // GIVEN
    const context = {};

    // WHEN
    const stacks = appFromEntryPoint(context).node.children.filter(Stack.isStack);

    // THEN
    expect(stacks.map((s) => [s.stackName, s.region])).toEqual([['Tollgate-us-east-1', 'us-east-1']]);
  });

  test('two regions produce two stacks, each pinned to its region', () => {
    // GIVEN
    const context = { regions: 'us-east-1, eu-west-1' };

    // WHEN
    const stacks = appFromEntryPoint(context).node.children.filter(Stack.isStack);

    // THEN
    expect(stacks.map((s) => [s.stackName, s.region])).toEqual([
      ['Tollgate-us-east-1', 'us-east-1'],
      ['Tollgate-eu-west-1', 'eu-west-1'],
    ]);
    for (const stack of stacks) {
      Template.fromStack(stack).resourceCountIs('AWS::DynamoDB::Table', 2);
    }
  });
});
