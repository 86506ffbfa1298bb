import type { AccessLists, KeyRecord, Limits, RateLimits, Store } from '../store/port';
import { generateKey } from './gateway-key';

export interface IssueKeyRequest {
  readonly project: string;
  readonly user?: string;
  readonly name?: string;
  /** Part of the record the key is created with, so no request can ever see the key without them. */
  readonly limits?: Limits;
  readonly rateLimits?: RateLimits;
  readonly expiresAt?: string;
  /** The routes and models the key may use, within what its project allows. */
  readonly access?: AccessLists;
}

export interface IssuedKey {
  /** The only time the key exists outside the caller's hands: show it once, store nothing but its hash. */
  readonly key: string;
  readonly record: KeyRecord;
}

/** Creates the project (and user) on first use, so `keys create --project acme` is all a new team needs. */
export async function issueKey(store: Store, request: IssueKeyRequest, now: Date = new Date()): Promise<IssuedKey> {
  const createdAt = now.toISOString();
  await store.createProject({ name: request.project, createdAt });
  if (request.user !== undefined) await store.createUser({ name: request.user, createdAt });
  const { key, id, hash, prefix } = generateKey();
  const record: KeyRecord = {
    id,
    hash,
    prefix,
    project: request.project,
    createdAt,
    ...(request.user !== undefined && { user: request.user }),
    ...(request.name !== undefined && { name: request.name }),
    ...(request.limits !== undefined && { limits: request.limits }),
    ...(request.rateLimits !== undefined && { rateLimits: request.rateLimits }),
    ...(request.expiresAt !== undefined && { expiresAt: request.expiresAt }),
    ...(request.access !== undefined && { access: request.access }),
  };
  await store.createKey(record);
  return { key, record };
}
