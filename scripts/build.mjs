// Bundles the CLI into one file for `npx tollgate`. Dependencies stay in node_modules: the
// native better-sqlite3 addon cannot be bundled, and the AWS SDK would only slow the build.
import { chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist');

await build({
  absWorkingDir: root,
  // The SQLite store's spend writer runs on a thread of its own and loads its file from next to the CLI.
  entryPoints: [
    { in: join(root, 'bin', 'tollgate.ts'), out: 'tollgate' },
    { in: join(root, 'lambda', 'store', 'sqlite-writer-thread.ts'), out: 'sqlite-writer-thread' },
  ],
  outdir,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  packages: 'external',
  sourcemap: true,
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
});
chmodSync(join(outdir, 'tollgate.js'), 0o755);
