import type { App } from 'aws-cdk-lib';

/** Bundling is skipped (measured: ~1 s per function per synth); test/infra/bundle.test.ts bundles for real. */
export const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] as string[] };

/** Loads bin/cdk-app.ts afresh with the given CLI context, exactly as `cdk synth -c ...` would. */
export function appFromEntryPoint(context: Record<string, unknown>): App {
  const saved = process.env.CDK_CONTEXT_JSON;
  process.env.CDK_CONTEXT_JSON = JSON.stringify({ ...SKIP_BUNDLING, ...context });
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
