import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';

/** A file as a path named it when the store opened it: what that path must still name. */
export interface FileIdentity {
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
}

/**
 * The store's files as they are now: the database and, in WAL mode, its log and shared memory.
 * Each of them is held open by SQLite, which reads and writes the open file whatever its path
 * names meanwhile; the last two are also how other processes (the CLI) find the same database.
 */
export function identifyFiles(file: string): FileIdentity[] {
  const identities: FileIdentity[] = [];
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    const stats = statSync(path, { throwIfNoEntry: false });
    if (stats) identities.push({ path, dev: stats.dev, ino: stats.ino });
  }
  return identities;
}

/**
 * The store's file (or its log) was deleted or replaced while this process had it open. SQLite
 * would go on writing into the open file, which no one reads again: spend would be lost on the
 * next start. The store refuses every read and write instead, until it is reopened.
 */
export class StoreFileMovedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreFileMovedError';
  }
}

/**
 * Checks that the store's paths still name the files it opened (same device and inode), and,
 * once one does not, fails every call from then on with the same {@link StoreFileMovedError}.
 * A check is three `stat`s (~1.6 µs each on Linux). {@link check} is for writes, made before a
 * caller is answered; {@link checkSometimes} for reads, which may see the file that was just
 * deleted (it holds what was true a moment ago) for up to `intervalMs`.
 */
export class FileGuard {
  private failure: StoreFileMovedError | undefined;
  private checkedAt = Number.NEGATIVE_INFINITY;

  /** `onFailure` runs once, when a file is first found moved, before the error is thrown. */
  constructor(
    private readonly files: readonly FileIdentity[],
    private readonly options: { readonly intervalMs?: number; readonly onFailure?: () => void } = {},
  ) {}

  check(): void {
    if (this.failure) throw this.failure;
    for (const file of this.files) {
      const now = statNow(file.path);
      if (typeof now === 'string' || now.dev !== file.dev || now.ino !== file.ino) {
        this.failure = new StoreFileMovedError(describeMove(file, typeof now === 'string' ? now : 'replaced', this.files[0] ?? file));
        this.options.onFailure?.();
        throw this.failure;
      }
    }
    this.checkedAt = performance.now();
  }

  checkSometimes(): void {
    if (this.failure) throw this.failure;
    if (performance.now() - this.checkedAt >= (this.options.intervalMs ?? 1_000)) this.check();
  }

  /** Throws the failure already found, without looking again. */
  throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /** Whether a file is moved, looking now. */
  moved(): boolean {
    try {
      this.check();
      return false;
    } catch {
      return true;
    }
  }
}

/** What the path names now: the file's identity, or why there is none (`deleted`, or an error code). */
function statNow(path: string): { dev: number; ino: number } | string {
  try {
    return statSync(path, { throwIfNoEntry: false }) ?? 'deleted';
  } catch (error) {
    return typeof error === 'object' && error !== null && 'code' in error ? `unreadable (${String(error.code)})` : 'unreadable';
  }
}

function describeMove(moved: FileIdentity, what: string, database: FileIdentity): string {
  const happened = what === 'replaced' ? 'was replaced by another file' : what === 'deleted' ? 'was deleted' : `can no longer be checked: ${what}`;
  const head =
    `The store's file ${moved.path} ${happened} while tollgate had it open. ` +
    'Tollgate now refuses every request that needs the store (nothing is forwarded unmetered) rather than record spend in a file no one will read again. ';
  if (moved !== database) {
    return head + `Restart tollgate: the keys and spend are in ${database.path}, which a clean stop brings up to date.`;
  }
  const copy = openDescriptor(database);
  const rescue = copy
    ? `The old file is still readable while this process runs: copy it out first (cp ${copy} ${join(dirname(database.path), 'tollgate-recovered.db')}) to keep the keys and spend it holds. `
    : 'The keys and spend recorded in the old file are lost with it unless it is restored. ';
  return head + rescue + `Then restart tollgate: it opens whatever ${basename(database.path)} is at that path then (an empty store if there is none).`;
}

/** On Linux, a descriptor through which this process still reads the file, deleted or not. */
function openDescriptor(file: FileIdentity): string | undefined {
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return undefined; // no /proc (macOS, Windows): nothing to point at
  }
  for (const fd of fds) {
    const stats = statNow(`/proc/self/fd/${fd}`);
    if (typeof stats !== 'string' && stats.dev === file.dev && stats.ino === file.ino) return `/proc/${process.pid}/fd/${fd}`;
  }
  return undefined;
}
