import { REMOTE_DATA_JSON_URL } from '@pydantic/genai-prices';
import { parsePriceData } from './validate';
import { sha256Hex, type PriceSnapshotMeta, type PriceStore } from './store';

/** The price data URL refreshes read unless told otherwise: genai-prices' own. */
export const DEFAULT_PRICES_URL = REMOTE_DATA_JSON_URL;

/** Today's data is ~0.5 MB; anything this large is not price data. */
export const MAX_PRICE_DATA_BYTES = 8 * 1024 * 1024;

export interface RefreshOptions {
  readonly store: PriceStore;
  /** @default {@link DEFAULT_PRICES_URL} */
  readonly url?: string;
  /** genai-prices provider ids that must be present (those tollgate routes to). */
  readonly requiredProviders: readonly string[];
  /** @default 15 seconds */
  readonly timeoutMs?: number;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/**
 * How a refresh ended. `kept` is the copy still in force after a failure (if there is one): a
 * failed refresh never removes or overwrites it.
 */
export type RefreshResult =
  | { readonly kind: 'updated'; readonly snapshot: PriceSnapshotMeta; readonly providers: number; readonly models: number; readonly bytes: number }
  | { readonly kind: 'unchanged'; readonly snapshot: PriceSnapshotMeta }
  | { readonly kind: 'unreachable'; readonly reason: string; readonly kept: PriceSnapshotMeta | undefined }
  | { readonly kind: 'rejected'; readonly reason: string; readonly kept: PriceSnapshotMeta | undefined };

/**
 * Fetches genai-prices' data, validates it, and stores it as the new last good copy — or, if
 * the source is unreachable or serves something invalid, leaves the old copy exactly as it was.
 * Shared by the scheduled Lambda and `tollgate prices refresh`.
 *
 * @example
 * const result = await refreshPrices({ store: filePriceStore('.tollgate'), requiredProviders: ['openai'] });
 * if (result.kind === 'rejected') console.error(result.reason);
 */
export async function refreshPrices(options: RefreshOptions): Promise<RefreshResult> {
  const url = options.url ?? DEFAULT_PRICES_URL;
  const clock = options.clock ?? (() => new Date());
  const fetchImpl = options.fetch ?? fetch;

  let data: Buffer;
  try {
    data = await download(fetchImpl, url, options.timeoutMs ?? 15_000);
  } catch (error) {
    return { kind: 'unreachable', reason: `${url}: ${error instanceof Error ? error.message : String(error)}`, kept: await options.store.head() };
  }
  const verdict = parsePriceData(data, options.requiredProviders);
  if (!verdict.ok) return { kind: 'rejected', reason: `${url}: ${verdict.reason}`, kept: await options.store.head() };

  const now = clock().toISOString();
  const sha256 = sha256Hex(data);
  const current = await options.store.head();
  if (current?.sha256 === sha256) {
    await options.store.confirm(sha256, now);
    return { kind: 'unchanged', snapshot: { ...current, checkedAt: now } };
  }
  const snapshot = { sha256, source: url, fetchedAt: now, checkedAt: now };
  await options.store.save({ ...snapshot, data });
  return { kind: 'updated', snapshot, providers: verdict.providers.length, models: verdict.models, bytes: data.byteLength };
}

async function download(fetchImpl: typeof fetch, url: string, timeoutMs: number): Promise<Buffer> {
  const response = await fetchImpl(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`HTTP ${response.status}`);
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > MAX_PRICE_DATA_BYTES) {
    await response.body?.cancel();
    throw new Error(`${declared} bytes is more than the ${MAX_PRICE_DATA_BYTES} a price file may have`);
  }
  const data = Buffer.from(await response.arrayBuffer());
  if (data.byteLength > MAX_PRICE_DATA_BYTES) throw new Error(`${data.byteLength} bytes is more than the ${MAX_PRICE_DATA_BYTES} a price file may have`);
  return data;
}
