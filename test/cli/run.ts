import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIo, Writer } from '../../lambda/cli/io';
import { main } from '../../lambda/cli/main';

export interface Collector extends Writer {
  text: string;
}

export function collector(): Collector {
  const out: Collector = {
    text: '',
    write(text: string) {
      out.text += text;
      return true;
    },
  };
  return out;
}

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A data dir of its own, and a cwd with no tollgate.config.json, so nothing leaks in from the repo. */
export function tempDir(prefix = 'tollgate-cli-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export async function run(argv: readonly string[], env: NodeJS.ProcessEnv, extra: Partial<CliIo> = {}): Promise<Run> {
  const stdout = collector();
  const stderr = collector();
  const code = await main(argv, { env, stdout, stderr, ...extra });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** Parses `--json` output, asserting it is JSON and nothing else. */
export function json<T>(result: Run): T {
  return JSON.parse(result.stdout) as T;
}
