// Bundles the CLI into one file for `npx tollgate`. Dependencies stay in node_modules: the
// native better-sqlite3 addon cannot be bundled, and the AWS SDK would only slow the build.
import { chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'dist', 'tollgate.js');

await build({
  absWorkingDir: root,
  entryPoints: [join(root, 'bin', 'tollgate.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  packages: 'external',
  sourcemap: true,
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
