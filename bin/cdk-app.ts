import { App } from 'aws-cdk-lib';
import { TollgateStack } from '../lib/tollgate-stack';

export const app = new App(); // exported so tests can inspect what this entry point builds
const regions = String(app.node.tryGetContext('regions') ?? 'us-east-1').split(',').map((r) => r.trim()).filter(Boolean);
for (const region of regions) {
  new TollgateStack(app, `Tollgate-${region}`, { env: { account: process.env.CDK_DEFAULT_ACCOUNT, region } });
}
