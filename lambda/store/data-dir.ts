import { chmodSync, closeSync, fchmodSync, mkdirSync, openSync, readdirSync, statSync, type Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Owner read and write only: the store holds key hashes and spend. */
export const PRIVATE_FILE_MODE = 0o600;
/** Owner only: nobody else can list, create, delete or rename what the directory holds. */
export const PRIVATE_DIR_MODE = 0o700;

const STICKY = 0o1000;
const WORLD_WRITABLE = 0o002;
const GROUP_OR_OTHER = 0o077;

/**
 * What tollgate keeps in a data directory: the store with SQLite's companions (write-ahead log,
 * shared memory, a rollback journal left from before WAL mode), the price copy, its metadata, the
 * secret key that seals project credentials, and their temporaries (`<name>.<pid>.tmp`).
 */
const OWN_ENTRY = /^(?:tollgate\.db(?:-wal|-shm|-journal)?|(?:genai-prices(?:\.meta)?\.json|secret\.key)(?:\.\d+\.tmp)?)$/;

/** A data directory tollgate will not use as it is; the message says what to do instead. */
export class DataDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirError';
  }
}

/**
 * Makes `dir` private to this user and returns its absolute path:
 *
 * - missing: created 0700 (its missing parents the usual way, as `mkdir -p` would);
 * - looser than 0700 and holding nothing but tollgate's own files: tightened to 0700;
 * - sticky or world-writable and not tollgate's alone (`/tmp` itself): refused, since anyone
 *   could delete or replace the store's files in it;
 * - otherwise looser but shared with other files (a project directory, `.`): left as it is.
 *
 * Tollgate's own files in it are tightened to 0600 in every case but the refusal. A file or
 * directory owned by another user is never changed.
 *
 * @example
 * const path = preparePrivateDir('.tollgate'); // ./.tollgate, 0700
 */
export function preparePrivateDir(dir: string): string {
  const path = resolve(dir);
  const stats = statSync(path, { throwIfNoEntry: false }) ?? createPrivateDir(path);
  if (!stats.isDirectory()) throw new DataDirError(`${path} is not a directory. Point TOLLGATE_DATA_DIR at a directory for tollgate's data.`);
  const entries = readdirSync(path);
  if ((stats.mode & GROUP_OR_OTHER) !== 0) {
    const ours = isOwner(stats) && (stats.mode & STICKY) === 0 && entries.every((name) => OWN_ENTRY.test(name));
    if (ours) chmodSync(path, PRIVATE_DIR_MODE);
    else if ((stats.mode & (STICKY | WORLD_WRITABLE)) !== 0) {
      throw new DataDirError(
        `${path} is shared with other users (mode ${octal(stats.mode)}): anyone could delete or replace tollgate's data in it. ` +
          `Point TOLLGATE_DATA_DIR at a directory of its own, such as ${join(path, 'tollgate')}, which tollgate creates private (0700).`,
      );
    }
  }
  for (const name of entries) if (OWN_ENTRY.test(name)) tightenFile(join(path, name));
  return path;
}

/**
 * Creates `file` empty, 0600, unless it exists (then it is only tightened, as in
 * {@link preparePrivateDir}). An existing file is never opened: closing a descriptor drops every
 * POSIX lock this process holds on the file, SQLite's included.
 */
export function preparePrivateFile(file: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'wx', PRIVATE_FILE_MODE);
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error;
    tightenFile(file);
    return;
  }
  try {
    // The umask can only have narrowed the mode given to open; this makes it exactly 0600.
    fchmodSync(fd, PRIVATE_FILE_MODE);
  } finally {
    closeSync(fd);
  }
}

function createPrivateDir(path: string): Stats {
  mkdirSync(dirname(path), { recursive: true });
  try {
    mkdirSync(path, { mode: PRIVATE_DIR_MODE });
    // As for files: never looser than 0700 in between, and exactly 0700 (writable by us) after.
    chmodSync(path, PRIVATE_DIR_MODE);
  } catch (error) {
    // Created meanwhile by another process (a CLI command next to the gateway): judged as found.
    if (errorCode(error) !== 'EEXIST') throw error;
  }
  return statSync(path);
}

function tightenFile(file: string): void {
  const stats = statSync(file, { throwIfNoEntry: false });
  if (stats?.isFile() && (stats.mode & GROUP_OR_OTHER) !== 0 && isOwner(stats)) chmodSync(file, PRIVATE_FILE_MODE);
}

function isOwner(stats: Stats): boolean {
  return process.getuid?.() === stats.uid;
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}
