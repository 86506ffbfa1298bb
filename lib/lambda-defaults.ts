import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { acknowledge, FUNCTION_ROLE_FINDINGS } from './nag';

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
 * Source maps (lines only, no sources) cost nothing until a stack trace is formatted — the first
 * one parses the map, ~80 ms of CPU (docs/benchmarks.md, *Lambda*) — and the gateway formats
 * none on its own paths: they are paid for by a crash, whose stack then names the TypeScript line.
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

/** The longest Lambda keeps an asynchronous invocation waiting to run. */
const MAX_EVENT_AGE = Duration.hours(6);

/**
 * A housekeeping function run on a schedule (price refresh, reconciler): a minute at most, and no
 * Lambda retries — a failed run is a metric, and the next scheduled run is the retry. For the same
 * reason a run that could not start within one interval (throttled: the account's concurrency
 * used up) is dropped rather than kept for Lambda's 6 hours, so a throttle does not end in a pile
 * of stale runs started at once.
 */
export function scheduledFunction(
  scope: Construct,
  props: { entry: 'price-refresh' | 'reconcile'; description: string; interval: Duration; environment: Record<string, string>; logRetention: RetentionDays | undefined },
): NodejsFunction {
  const defaults = bundledFunctionDefaults(handlerEntry(props.entry));
  const fn = new NodejsFunction(scope, 'Function', {
    ...defaults,
    description: props.description,
    memorySize: 512,
    timeout: Duration.minutes(1),
    retryAttempts: 0,
    maxEventAge: Duration.seconds(Math.min(props.interval.toSeconds(), MAX_EVENT_AGE.toSeconds())),
    logGroup: new LogGroup(scope, 'Logs', { retention: props.logRetention ?? RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY }),
    environment: { ...defaults.environment, ...props.environment },
  });
  acknowledge(fn, FUNCTION_ROLE_FINDINGS);
  return fn;
}
