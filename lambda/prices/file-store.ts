import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { preparePrivateDir, PRIVATE_FILE_MODE } from '../store/data-dir';
import type { PriceSnapshot, PriceSnapshotMeta, PriceStore } from './store';

export const PRICE_FILE = 'genai-prices.json';
const META_FILE = 'genai-prices.meta.json';

/**
 * The local copy: the data as fetched in `<dir>/genai-prices.json` (so it can be read or diffed
 * as is) and its metadata beside it. Writes go through a rename, so a reader never sees half a file.
 * The directory and files are private to this user, as the store's are (`preparePrivateDir`).
 *
 * @example
 * const store = filePriceStore('.tollgate');
 */
export function filePriceStore(dir: string): PriceStore {
  const dataPath = join(dir, PRICE_FILE);
  const metaPath = join(dir, META_FILE);

  const head = async (): Promise<PriceSnapshotMeta | undefined> => {
    const text = await readIfExists(metaPath);
    if (text === undefined) return undefined;
    const meta: unknown = JSON.parse(text.toString('utf8'));
    if (!isMeta(meta)) throw new Error(`${metaPath} is not price metadata; delete it and run "tollgate prices refresh"`);
    return meta;
  };
  const writeAtomically = async (path: string, data: string | Uint8Array) => {
    preparePrivateDir(dir);
    const temporary = `${path}.${process.pid}.tmp`;
    // A new file, 0600 from its creation (the umask can only narrow it; chmod makes it exact).
    await rm(temporary, { force: true });
    const file = await open(temporary, 'wx', PRIVATE_FILE_MODE);
    try {
      await file.chmod(PRIVATE_FILE_MODE);
      await file.writeFile(data);
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  };

  return {
    head,
    async load() {
      const meta = await head();
      const data = meta && (await readIfExists(dataPath));
      return meta && data ? { ...meta, data } : undefined;
    },
    async save(snapshot: PriceSnapshot) {
      const { data, ...meta } = snapshot;
      // Data first: metadata naming a hash the data file does not have yet would mislead a reader.
      await writeAtomically(dataPath, data);
      await writeAtomically(metaPath, `${JSON.stringify(meta, null, 2)}\n`);
    },
    async confirm(sha256, checkedAt) {
      const meta = await head();
      if (meta?.sha256 === sha256) await writeAtomically(metaPath, `${JSON.stringify({ ...meta, checkedAt }, null, 2)}\n`);
    },
  };
}

async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if (typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOENT') return undefined;
    throw error;
  }
}

function isMeta(value: unknown): value is PriceSnapshotMeta {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return ['sha256', 'source', 'fetchedAt', 'checkedAt'].every((name) => typeof record[name] === 'string');
}
