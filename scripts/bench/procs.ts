import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { ProcessStats, Role } from './child';

/**
 * Bundles child.ts (and through it the gateway's own code) into one CommonJS file, with packages
 * left in node_modules — as `npm start` runs it. The file lives under bench-results/ so node
 * resolves those packages from the repository.
 */
export async function buildChild(root: string, outdir: string): Promise<string> {
  const outfile = join(outdir, 'child.js');
  await build({
    absWorkingDir: root,
    // The SQLite store starts its spend writer thread from a file next to the bundle, as in dist/.
    entryPoints: [
      { in: join(root, 'scripts', 'bench', 'child.ts'), out: 'child' },
      { in: join(root, 'lambda', 'store', 'sqlite-writer-thread.ts'), out: 'sqlite-writer-thread' },
    ],
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    logLevel: 'error',
  });
  return outfile;
}

/** Maps a line of the child bundle back to its source file, from esbuild's `// path` markers. */
export function bundleSourceMap(bundle: string): (line: number) => string | undefined {
  const markers: { line: number; file: string }[] = [];
  readFileSync(bundle, 'utf8')
    .split('\n')
    .forEach((text, line) => {
      const match = /^\/\/ ((?:lambda|scripts)\/\S+\.ts)$/.exec(text);
      if (match?.[1]) markers.push({ line, file: match[1] });
    });
  return (line) => {
    let found: string | undefined;
    for (const marker of markers) {
      if (marker.line > line) break;
      found = marker.file;
    }
    return found;
  };
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** A child process of the bench, driven over IPC. */
export class Child<Info = unknown> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  private constructor(
    readonly role: Role,
    readonly proc: ChildProcess,
    readonly info: Info,
  ) {
    proc.on('message', (message: { id?: number; ok?: boolean; result?: unknown; message?: string }) => {
      const waiting = message.id === undefined ? undefined : this.pending.get(message.id);
      if (!waiting || message.id === undefined) return;
      this.pending.delete(message.id);
      if (message.ok) waiting.resolve(message.result);
      else waiting.reject(new Error(`${role}: ${message.message}`));
    });
    proc.on('exit', () => {
      for (const waiting of this.pending.values()) waiting.reject(new Error(`${role} exited`));
      this.pending.clear();
    });
  }

  static start<Info>(file: string, role: Role, options: object, execArgv: string[] = [], timeoutMs = 20_000): Promise<Child<Info>> {
    const proc = fork(file, [role, JSON.stringify(options)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`${role} did not start within ${timeoutMs} ms`));
      }, timeoutMs);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${role} exited during start (code ${code})`));
      });
      proc.once('message', (message: { type: string; info?: Info; message?: string }) => {
        clearTimeout(timer);
        if (message.type === 'ready') resolve(new Child<Info>(role, proc, message.info as Info));
        else reject(new Error(`${role} failed to start: ${message.message}`));
      });
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  request<T>(cmd: string, timeoutMs = 30_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.role}: ${cmd} timed out`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.proc.send({ id, cmd });
    });
  }

  stats(): Promise<ProcessStats> {
    return this.request<ProcessStats>('stats');
  }

  /** Asks the child to close and exit; kills it (by its own pid) if it has not gone within the grace period. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.request('exit', graceMs).catch(() => {});
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}
