import { resolve } from 'node:path';
import { DEFAULT_DATA_DIR } from '../app/open-store';
import { jsonLogger, type Logger } from '../core/log';
import { PriceSync } from './apply';
import { filePriceStore } from './file-store';
import type { PriceStore } from './store';

/** The local copy lives in the data directory, next to the SQLite file. */
export function localPriceStore(env: NodeJS.ProcessEnv, cwd: string = process.cwd()): PriceStore {
  return filePriceStore(resolve(cwd, env['TOLLGATE_DATA_DIR'] ?? DEFAULT_DATA_DIR));
}

/**
 * `npm start`: use the copy `tollgate prices refresh` stored, if there is one; otherwise
 * genai-prices' bundled data. Never fails the start-up.
 */
export async function loadLocalPrices(env: NodeJS.ProcessEnv, logger: Logger = jsonLogger): Promise<void> {
  await new PriceSync({ store: localPriceStore(env), logger }).load();
}
