import { App } from 'aws-cdk-lib';
import { TollgateEdgeStack } from '../lib/edge';
import { readGatewayConfigFile } from '../lib/proxy';
import { TollgateStack } from '../lib/tollgate-stack';

export const app = new App(); // exported so tests can inspect what this entry point builds
const context = (name: string): string | undefined => app.node.tryGetContext(name) ?? undefined;
const regions = String(context('regions') ?? 'us-east-1').split(',').map((r) => r.trim()).filter(Boolean);
const config = context('config'); // -c config=tollgate.aws.json
const alarmEmail = context('alarmEmail');
const concurrency = context('proxyConcurrency'); // -c proxyConcurrency=200, or =unreserved
const front = context('front'); // -c front=cloudfront
const rateLimit = context('frontRateLimit'); // requests per IP per 5 minutes
if (front !== undefined && front !== 'cloudfront' && front !== 'none') throw new Error(`-c front must be "cloudfront" or "none", got "${front}"`);
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
  new TollgateStack(app, `Tollgate-${region}`, {
    env: { account, region },
    ...(edge && { front: { webAclArn: edge.webAcl.attrArn }, crossRegionReferences: region !== 'us-east-1' }),
    ...(config && { gatewayConfig: readGatewayConfigFile(config) }),
    ...(alarmEmail && { alarmEmail }),
    ...(concurrency !== undefined && { proxyReservedConcurrency: concurrency === 'unreserved' ? concurrency : Number(concurrency) }),
  });
}
