import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { PROJECT_ROOT } from '../../lib/lambda-defaults';
import { TollgateStack } from '../../lib/tollgate-stack';
import { tempDir } from '../cli/run';
import { CDK_JSON_CONTEXT } from './support/entry-point';

/**
 * The one test that bundles for real, as `cdk deploy` would: the local esbuild, no Docker. It
 * catches a dependency esbuild cannot bundle and a module that fails at init — the two ways a
 * template can synthesize and still not run.
 */
describe('Lambda bundles (local esbuild)', () => {
  let out: ReturnType<typeof tempDir>;
  let assets: Map<string, string>;

  beforeAll(() => {
    out = tempDir('tollgate-cdk-out-');
    const app = new App({ outdir: out.path, context: CDK_JSON_CONTEXT });
    const stack = new TollgateStack(app, 'Bundle', { env: { account: '123456789012', region: 'us-east-1' } });
    const assembly = app.synth();
    const template = assembly.getStackByName(stack.stackName).template as { Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string } } }> };
    assets = new Map();
    for (const [id, resource] of Object.entries(template.Resources)) {
      const key = resource.Properties.Code?.S3Key;
      const name = ({ Proxy: 'proxy', PriceRefresh: 'price-refresh', Reconciler: 'reconcile' } as const)[/^(Proxy|PriceRefresh|Reconciler)Function/.exec(id)?.[1] as 'Proxy' | 'PriceRefresh' | 'Reconciler'];
      if (resource.Type === 'AWS::Lambda::Function' && key && name) assets.set(name, join(out.path, `asset.${key.replace(/\.zip$/, '')}`));
    }
  }, 120_000);
  afterAll(() => out.remove());

  it.each(['proxy', 'price-refresh', 'reconcile'])('bundles %s into one file under 3 MB that initialises in a plain Node process', (name) => {
    // GIVEN
    const dir = assets.get(name)!;
    expect(readdirSync(dir).sort()).toEqual(['index.js', 'index.js.map']);
    const size = statSync(join(dir, 'index.js')).size;
    process.stderr.write(`${name} bundle: ${size} bytes (+ ${statSync(join(dir, 'index.js.map')).size} bytes source map)\n`);
    expect(size).toBeLessThan(3 * 1024 * 1024);

    // WHEN the module is loaded the way the runtime loads it, with the stack's tables (no prices
    // table: loading its copy would look for AWS credentials)
    const loaded = execFileSync(process.execPath, ['-e', 'const m = require(process.argv[1]); process.stdout.write(typeof m.handler)', join(dir, 'index.js')], {
      env: { PATH: process.env['PATH'], AWS_REGION: 'us-east-1', TOLLGATE_KEYS_TABLE: 'k', TOLLGATE_SPEND_TABLE: 's', AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING: '1' },
      encoding: 'utf8',
      timeout: 20_000,
    });

    // THEN it exports its handler
    expect(loaded).toBe('function');
  });

  it.each(['proxy', 'price-refresh', 'reconcile'])('bundles no dev dependency into %s, and maps lines without carrying the sources', (name) => {
    // GIVEN the packages the bundle's source map names
    const map = JSON.parse(readFileSync(join(assets.get(name)!, 'index.js.map'), 'utf8')) as { sources: string[]; sourcesContent?: unknown };
    const bundled = new Set(map.sources.flatMap((source) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source)?.[1] ?? []));
    const { devDependencies } = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };

    // THEN
    expect(bundled.size).toBeGreaterThan(0);
    expect([...bundled].filter((pkg) => pkg in devDependencies || pkg === 'aws-cdk-lib' || pkg === 'better-sqlite3')).toEqual([]);
    expect(map.sourcesContent).toBeUndefined();
  });
});
