import type { LineWriter } from '../core/log';
import type { Store } from '../store/port';
import { openStoreFromEnv } from '../app/open-store';

/** Anything with `write(string)`: `process.stdout`, or a collector in tests. */
export type Writer = LineWriter;

/** Everything a command touches outside its arguments, so tests can run it in-process. */
export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: Writer;
  readonly stderr: Writer;
  /** Where `providers add` reads a credential piped to it. @default none */
  readonly stdin?: AsyncIterable<unknown> & { readonly isTTY?: boolean };
  /** Where `tollgate.config.json` is looked for. @default process.cwd() */
  readonly cwd?: string;
  /** `serve` stops when this aborts. Without it, on the first SIGINT or SIGTERM. */
  readonly stop?: AbortSignal;
  /** The time commands act at: expiry durations, key status, the current spend period. @default the system clock */
  readonly clock?: () => Date;
}

export function now(io: CliIo): Date {
  return io.clock?.() ?? new Date();
}

export function processIo(): CliIo {
  return { env: process.env, stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };
}

/** Bad invocation: exit 2, as getopt-style tools do, so scripts can tell it from a failed action. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose `--help` to point at, e.g. `keys create`. */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A well-understood failure: exit 1 with just the message, no stack. */
export class CliFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliFailure';
  }
}

/** Closes the store however the action ends: a leaked SQLite handle keeps the WAL files around. */
export async function withStore<T>(io: CliIo, action: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStoreFromEnv(io.env);
  try {
    return await action(store);
  } finally {
    await store.close();
  }
}

/**
 * Node's own errors (parseArgs, listen) are checked by shape, not `instanceof Error`: under a
 * test runner's sandbox they come from another realm, whose Error is a different class.
 */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

export function errorMessage(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string') return error.message;
  return String(error);
}
