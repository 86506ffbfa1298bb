import { Stack, Token, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * A cdk-nag (AwsSolutions) finding this app leaves as it is, with the reason. Acknowledged where
 * the resource is made, through CDK's own `Validations` (no cdk-nag import: it is a dev
 * dependency, loaded only by `-c nag=true`).
 */
export function acknowledge(scope: IConstruct, findings: Readonly<Record<string, string>>): void {
  for (const [id, reason] of Object.entries(findings)) Validations.of(scope).acknowledge({ id: `AwsSolutions-${id}`, reason });
}

/**
 * How cdk-nag names a wildcard resource in an IAM5 finding: each of the partition, region and
 * account as its pseudo parameter (`<AWS::Partition>`) unless the stack knows it (the partition
 * does from a known region, with cdk.json's `enablePartitionLiterals`).
 */
export function wildcardResource(scope: IConstruct, arn: (parts: { partition: string; region: string; account: string }) => string): string {
  const stack = Stack.of(scope);
  const known = (value: string, placeholder: string) => (Token.isUnresolved(value) ? placeholder : value);
  return `IAM5[Resource::${arn({ partition: known(stack.partition, '<AWS::Partition>'), region: known(stack.region, '<AWS::Region>'), account: known(stack.account, '<AWS::AccountId>') })}]`;
}

/** Every tollgate function's role: the Lambda logging policy, and X-Ray's trace actions. */
export const FUNCTION_ROLE_FINDINGS = {
  'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]':
    "AWS's minimal policy for Lambda logging (CreateLogStream and PutLogEvents; the stack creates each log group itself).",
  'IAM5[Resource::*]': "X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions.",
  L1: 'Node.js 22 is the runtime the bundles are built (target node22) and tested for, and is supported by Lambda until 2027; moving to a newer one is a tested change, not a default.',
} as const;
