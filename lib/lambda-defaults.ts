import { join } from 'node:path';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';

/** The repository root: where package-lock.json pins what the bundles contain. */
export const PROJECT_ROOT = join(__dirname, '..');

/** A Lambda entry point under `lambda/handlers/`. */
export function handlerEntry(name: 'proxy' | 'price-refresh' | 'reconcile'): string {
  return join(PROJECT_ROOT, 'lambda', 'handlers', `${name}.ts`);
}

/** Node.js 22 on Graviton: the cheapest GB-second, and a runtime with response streaming. */
export const LAMBDA_RUNTIME = Runtime.NODEJS_22_X;
export const LAMBDA_ARCHITECTURE = Architecture.ARM_64;

/**
 * What every tollgate function shares: the runtime, X-Ray, and a bundle built by the esbuild in
 * node_modules — never Docker, so `cdk synth` works offline on a laptop or in CI. The AWS SDK is
 * bundled too, at the versions package-lock.json pins, rather than whatever the runtime carries.
 */
export function bundledFunctionDefaults(entry: string): NodejsFunctionProps {
  return {
    entry,
    handler: 'handler',
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
    runtime: LAMBDA_RUNTIME,
    architecture: LAMBDA_ARCHITECTURE,
    tracing: Tracing.ACTIVE,
    environment: { NODE_OPTIONS: '--enable-source-maps', POWERTOOLS_SERVICE_NAME: 'tollgate' },
    bundling: {
      forceDockerBundling: false,
      format: OutputFormat.CJS,
      target: 'node22',
      minify: true,
      sourceMap: true,
      sourcesContent: false,
      bundleAwsSDK: true,
      // ESM builds tree-shake better (the SDK ships both).
      mainFields: ['module', 'main'],
      logLevel: LogLevel.ERROR,
    },
  };
}
