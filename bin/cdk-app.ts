import { Annotations, App, Validations } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { TollgateEdgeStack } from '../lib/edge';
import { readGatewayConfigFile } from '../lib/proxy';
import { TollgateStack } from '../lib/tollgate-stack';

export const app = new App(); // exported so tests can inspect what this entry point builds
const context = (name: string): string | undefined => app.node.tryGetContext(name) ?? undefined;
const regions = String(context('regions') ?? 'us-east-1').split(',').map((r) => r.trim()).filter(Boolean);
const config = context('config'); // -c config=tollgate.aws.json
const alarmEmail = context('alarmEmail');
const concurrency = context('proxyConcurrency'); // -c proxyConcurrency=200, or =unreserved
const spendShards = context('spendShards'); // -c spendShards=4
const front = context('front'); // -c front=cloudfront
const rateLimit = context('frontRateLimit'); // requests per IP per 5 minutes
if (front !== undefined && front !== 'cloudfront' && front !== 'none') throw new Error(`-c front must be "cloudfront" or "none", got "${front}"`);
const flag = (name: string): boolean | undefined => {
  const value = context(name);
  if (value === undefined) return undefined;
  if (String(value) !== 'true' && String(value) !== 'false') throw new Error(`-c ${name} must be "true" or "false", got "${value}"`);
  return String(value) === 'true';
};
const retainTables = flag('retainTables'); // -c retainTables=false: a throwaway stage's tables go with it
const pointInTimeRecovery = flag('pointInTimeRecovery'); // -c pointInTimeRecovery=false
const terminationProtection = flag('terminationProtection'); // default: on unless -c retainTables=false
const proxyMemorySize = context('proxyMemorySize'); // -c proxyMemorySize=1024 (MB)
const logRetentionDays = context('logRetentionDays'); // -c logRetentionDays=365
const retentions = Object.values(RetentionDays).filter((days): days is RetentionDays => typeof days === 'number' && days !== RetentionDays.INFINITE);
if (logRetentionDays !== undefined && !retentions.includes(Number(logRetentionDays))) {
  throw new Error(`-c logRetentionDays must be one of CloudWatch's retention periods (${retentions.join(', ')}), got "${logRetentionDays}"`);
}
const account = process.env.CDK_DEFAULT_ACCOUNT;
for (const region of regions) {
  // CloudFront takes web ACLs only from us-east-1: each region's sits in a stack there.
  const edge =
    front === 'cloudfront'
      ? new TollgateEdgeStack(app, `Tollgate-${region}-edge`, {
          env: { account, region: 'us-east-1' },
          crossRegionReferences: region !== 'us-east-1',
          ...(rateLimit !== undefined && { rateLimitPer5Minutes: Number(rateLimit) }),
        })
      : undefined;
  const stack = new TollgateStack(app, `Tollgate-${region}`, {
    env: { account, region },
    ...(edge && { front: { webAclArn: edge.webAcl.attrArn }, crossRegionReferences: region !== 'us-east-1' }),
    ...(config && { gatewayConfig: readGatewayConfigFile(config) }),
    ...(alarmEmail && { alarmEmail }),
    ...(concurrency !== undefined && { proxyReservedConcurrency: concurrency === 'unreserved' ? concurrency : Number(concurrency) }),
    ...(spendShards !== undefined && { spendShards: Number(spendShards) }),
    ...(retainTables !== undefined && { retainTables }),
    ...(pointInTimeRecovery !== undefined && { pointInTimeRecovery }),
    ...(terminationProtection !== undefined && { terminationProtection }),
    ...(proxyMemorySize !== undefined && { proxyMemorySize: Number(proxyMemorySize) }),
    ...(logRetentionDays !== undefined && { logRetention: Number(logRetentionDays) as RetentionDays }),
  });
  if (edge) {
    Annotations.of(stack).acknowledgeWarning(
      '@aws-cdk/core:crossStackReferencesDefaultStrong',
      'Strong is wanted: CloudFormation then refuses to delete or replace the web ACL while the distribution uses it.',
    );
  }
}

// -c nag=true: cdk-nag's AwsSolutions pack (a dev dependency, so loaded only when asked for, as CI does).
// Every finding left is acknowledged on its construct, with the reason, in lib/.
if (context('nag') !== undefined) {
  const { AwsSolutionsChecks } = require('cdk-nag') as typeof import('cdk-nag');
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}
