import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { median } from './stats';

export interface BundleVariant {
  readonly name: string;
  readonly entry: string;
  /** Whether the bundle targets are judged on this variant. */
  readonly judged: boolean;
  /** A stand-in, not the real Lambda entry. */
  readonly standIn: boolean;
}

export const LAMBDA_HANDLER = 'lambda/handlers/proxy.ts';

/**
 * The Lambda proxy handler when it exists (bundled as lib/lambda-defaults.ts bundles it: minified,
 * CommonJS, AWS SDK included, ESM entry points preferred), with the bare core for comparison.
 * Before the handler existed, stand-ins took its place; they remain the fallback.
 */
export function bundleVariants(root: string): BundleVariant[] {
  if (existsSync(join(root, LAMBDA_HANDLER))) {
    return [
      { name: `Lambda proxy handler (${LAMBDA_HANDLER})`, entry: LAMBDA_HANDLER, judged: true, standIn: false },
      { name: 'core only (lambda/app/local-gateway.ts), for comparison', entry: 'lambda/app/local-gateway.ts', judged: false, standIn: true },
    ];
  }
  return [
    { name: 'stand-in: core (lambda/app/local-gateway.ts)', entry: 'lambda/app/local-gateway.ts', judged: true, standIn: true },
    { name: 'stand-in: core + DynamoDB store and client', entry: 'scripts/bench/lambda-standin.ts', judged: false, standIn: true },
  ];
}

/** What the stack gives the function, as test/infra/bundle.test.ts loads it (no prices table: that would look for AWS credentials). */
const LAMBDA_INIT_ENV = {
  PATH: process.env['PATH'] ?? '',
  AWS_REGION: 'us-east-1',
  TOLLGATE_KEYS_TABLE: 'bench-keys',
  TOLLGATE_SPEND_TABLE: 'bench-spend',
  AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING: '1',
};

export interface BundleResult {
  readonly name: string;
  readonly entry: string;
  readonly judged: boolean;
  readonly standIn: boolean;
  readonly bytes: number;
  readonly gzipBytes: number;
  /** Biggest contributors to the minified output, by package (or lambda/ for our own code). */
  readonly topInputs: { readonly name: string; readonly bytes: number }[];
  /** `require(bundle)` inside a fresh node process, ms (median). */
  readonly requireMs: number;
  readonly requireMsRuns: number[];
  /** Whole `node -e "require(bundle)"` process, ms (median), and a bare `node -e 0` for scale. */
  readonly processMs: number;
  readonly nodeBaselineMs: number;
  readonly error?: string;
}

function timedNode(script: string): { wallMs: number; stdout: string } {
  const started = performance.now();
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000, env: LAMBDA_INIT_ENV });
  const wallMs = performance.now() - started;
  if (run.status !== 0) throw new Error(`node -e failed: ${run.stderr.slice(0, 500)}`);
  return { wallMs, stdout: run.stdout };
}

function packageOf(path: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (match?.[1]) return match[1];
  return path.split('/')[0] ?? path;
}

export async function measureBundles(root: string, outdir: string, runs: number): Promise<BundleResult[]> {
  const results: BundleResult[] = [];
  const baseline = median(Array.from({ length: runs }, () => timedNode('0').wallMs));
  for (const [index, variant] of bundleVariants(root).entries()) {
    const outfile = join(outdir, `lambda-standin-${index}.js`);
    try {
      const built = await build({
        absWorkingDir: root,
        entryPoints: [join(root, variant.entry)],
        outfile,
        bundle: true,
        minify: true,
        platform: 'node',
        target: 'node20',
        format: 'cjs',
        mainFields: ['module', 'main'],
        metafile: true,
        logLevel: 'silent',
      });
      const byPackage = new Map<string, number>();
      for (const [path, input] of Object.entries(built.metafile.outputs[Object.keys(built.metafile.outputs)[0] as string]?.inputs ?? {})) {
        byPackage.set(packageOf(path), (byPackage.get(packageOf(path)) ?? 0) + input.bytesInOutput);
      }
      const script = `const t=process.hrtime.bigint();require(${JSON.stringify(outfile)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
      timedNode(script); // warm the OS page cache: a Lambda's package is on local disk too
      const samples = Array.from({ length: runs }, () => timedNode(script));
      const requireMsRuns = samples.map((sample) => Number(sample.stdout));
      results.push({
        name: variant.name,
        entry: variant.entry,
        judged: variant.judged,
        standIn: variant.standIn,
        bytes: statSync(outfile).size,
        gzipBytes: gzipSync(readFileSync(outfile)).byteLength,
        topInputs: [...byPackage.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 6)
          .map(([name, bytes]) => ({ name, bytes })),
        requireMs: median(requireMsRuns),
        requireMsRuns,
        processMs: median(samples.map((sample) => sample.wallMs)),
        nodeBaselineMs: baseline,
      });
    } catch (error) {
      results.push({
        name: variant.name,
        entry: variant.entry,
        judged: variant.judged,
        standIn: variant.standIn,
        bytes: Number.NaN,
        gzipBytes: Number.NaN,
        topInputs: [],
        requireMs: Number.NaN,
        requireMsRuns: [],
        processMs: Number.NaN,
        nodeBaselineMs: baseline,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return results;
}
