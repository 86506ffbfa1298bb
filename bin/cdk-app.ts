import { App } from 'aws-cdk-lib';
import { readGatewayConfigFile } from '../lib/proxy';
import { TollgateStack } from '../lib/tollgate-stack';

export const app = new App(); // exported so tests can inspect what this entry point builds
const context = (name: string): string | undefined => app.node.tryGetContext(name) ?? undefined;
const regions = String(context('regions') ?? 'us-east-1').split(',').map((r) => r.trim()).filter(Boolean);
const config = context('config'); // -c config=tollgate.aws.json
const alarmEmail = context('alarmEmail');
const concurrency = context('proxyConcurrency'); // -c proxyConcurrency=200, or =unreserved
for (const region of regions) {
  new TollgateStack(app, `Tollgate-${region}`, {
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region },
    ...(config && { gatewayConfig: readGatewayConfigFile(config) }),
    ...(alarmEmail && { alarmEmail }),
    ...(concurrency !== undefined && { proxyReservedConcurrency: concurrency === 'unreserved' ? concurrency : Number(concurrency) }),
  });
}
