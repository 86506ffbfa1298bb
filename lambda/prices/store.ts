import { createHash } from 'node:crypto';

/**
 * The last good copy of genai-prices' data, exactly as fetched, with when it was fetched and when
 * the source last confirmed it. Proxies and `npm start` load it; only a refresh writes it.
 */
export interface PriceSnapshot extends PriceSnapshotMeta {
  /** The JSON bytes as the source served them. */
  readonly data: Buffer;
}

export interface PriceSnapshotMeta {
  /** Hex SHA-256 of `data`: how a proxy tells a new copy from the one it has. */
  readonly sha256: string;
  /** Where the data came from. */
  readonly source: string;
  /** When these bytes were first stored (ISO 8601). */
  readonly fetchedAt: string;
  /** When the source last served these bytes, or bytes as good (ISO 8601): what "stale" is measured from. */
  readonly checkedAt: string;
}

/**
 * Where the copy lives: one DynamoDB item on AWS (`dynamodb-store.ts`), one file locally
 * (`file-store.ts`).
 */
export interface PriceStore {
  /** The metadata only: cheap enough to ask every few minutes. */
  head(): Promise<PriceSnapshotMeta | undefined>;
  load(): Promise<PriceSnapshot | undefined>;
  /** Replaces the copy. */
  save(snapshot: PriceSnapshot): Promise<void>;
  /** The source served the same bytes again: move `checkedAt` only. */
  confirm(sha256: string, checkedAt: string): Promise<void>;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
