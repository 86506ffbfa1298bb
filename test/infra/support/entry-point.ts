import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { App } from 'aws-cdk-lib';

/** Bundling is skipped (measured: ~1 s per function per synth); test/infra/bundle.test.ts bundles for real. */
export const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] as string[] };

/** cdk.json's context — CDK's feature flags among it — which `cdk synth` and `cdk deploy` give the app. */
export const CDK_JSON_CONTEXT = (JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

/** What a test's `new App({ context })` needs to build the template `cdk deploy` would: cdk.json's context, bundling skipped. */
export const APP_CONTEXT = { ...CDK_JSON_CONTEXT, ...SKIP_BUNDLING };

/** Loads bin/cdk-app.ts afresh with the given CLI context, exactly as `cdk synth -c ...` would (cdk.json's context under it). */
export function appFromEntryPoint(context: Record<string, unknown>): App {
  const saved = process.env.CDK_CONTEXT_JSON;
  process.env.CDK_CONTEXT_JSON = JSON.stringify({ ...APP_CONTEXT, ...context });
  try {
    let app: App | undefined;
    jest.isolateModules(() => {
      app = (require('../../../bin/cdk-app') as { app: App }).app;
    });
    return app!;
  } finally {
    if (saved === undefined) delete process.env.CDK_CONTEXT_JSON;
    else process.env.CDK_CONTEXT_JSON = saved;
  }
}
