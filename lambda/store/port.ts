/**
 * The one narrow port between the gateway and its durable state.
 *
 * Two adapters implement it — SQLite (embedded, `npm start`) and DynamoDB (AWS) — and both
 * pass `test/store/contract.ts`. Money is integer nano-dollars everywhere behind this port.
 *
 * @example
 * const store = openSqliteStore({ dataDir: '.tollgate' });
 * await store.recordSpend({ scopes: [{ kind: 'key', id: 'k1' }], at: new Date(), nanos: 7_375_000 });
 */
export interface Store {
  createProject(project: ProjectRecord): Promise<void>;
  getProject(name: string): Promise<ProjectRecord | undefined>;
  listProjects(): Promise<ProjectRecord[]>;

  /** Fails with {@link DuplicateKeyIdError} if the id is taken. */
  createKey(key: KeyRecord): Promise<void>;
  getKey(id: string): Promise<KeyRecord | undefined>;
  listKeys(filter?: { project?: string; user?: string }): Promise<KeyRecord[]>;
  /** Returns false if no such key exists; revoking twice keeps the first revocation time. */
  revokeKey(id: string, at: Date): Promise<boolean>;

  /**
   * Adds `nanos` (and one request) to every scope × period counter, atomically for the request:
   * either all counters move or none do.
   */
  recordSpend(entry: SpendEntry): Promise<void>;
  /** Counters for one scope, or for every scope of a kind, or all of them. */
  getSpend(query?: SpendQuery): Promise<SpendCounter[]>;

  close(): Promise<void>;
}

export type ScopeKind = 'key' | 'user' | 'project';

export interface Scope {
  readonly kind: ScopeKind;
  readonly id: string;
}

export interface ProjectRecord {
  readonly name: string;
  readonly createdAt: string;
}

export interface KeyRecord {
  /** Public identifier, also embedded in the key itself so lookup needs no hash index. */
  readonly id: string;
  /** Hex SHA-256 of the whole key; the key itself is never stored. */
  readonly hash: string;
  /** The first characters of the key, safe to show in listings. */
  readonly prefix: string;
  readonly project: string;
  readonly user?: string;
  readonly name?: string;
  readonly createdAt: string;
  readonly revokedAt?: string;
}

export interface SpendEntry {
  readonly scopes: readonly Scope[];
  readonly at: Date;
  /** Integer nano-dollars; zero is valid (an unpriced request still counts as a request). */
  readonly nanos: number;
}

export interface SpendQuery {
  readonly kind?: ScopeKind;
  readonly id?: string;
}

export interface SpendCounter {
  readonly scope: Scope;
  /** `day:2026-11-27`, `week:2026-11-23` (the Monday it starts), `month:2026-11` or `lifetime`. */
  readonly period: string;
  readonly nanos: number;
  readonly requests: number;
}

export class DuplicateKeyIdError extends Error {
  constructor(id: string) {
    super(`a key with id ${id} already exists`);
    this.name = 'DuplicateKeyIdError';
  }
}

/** Guards the money invariant at the port, so neither adapter can store a float or a negative. */
export function assertNanos(nanos: number): void {
  if (!Number.isSafeInteger(nanos) || nanos < 0) {
    throw new RangeError(`spend must be a non-negative integer number of nano-dollars, got ${nanos}`);
  }
}
