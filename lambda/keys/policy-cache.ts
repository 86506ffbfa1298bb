import type { Policy } from '../limits/plan';
import { projectAccountSettings } from '../routing/project-accounts';
import type { Store } from '../store/port';

export interface PolicySource {
  /** The key's record with its project's and user's, or undefined if there is no such key. */
  load(keyId: string): Promise<Policy | undefined>;
}

/**
 * Key, project and user records, and the project's own provider accounts, cached for `ttlMs` so
 * that a warm request reaches the store only to reserve. The TTL is also the longest a revoked or
 * disabled key, a changed limit, or an added or removed project account can go unnoticed by a
 * running gateway. Bounded: the oldest entries go first.
 */
export function cachedPolicies(store: Store, ttlMs: number, now: () => number = Date.now, maxEntries = 10_000): PolicySource {
  const fresh = async (keyId: string): Promise<Policy | undefined> => {
    const key = await store.getKey(keyId);
    if (!key) return undefined;
    const [project, user, accounts] = await Promise.all([
      store.getProject(key.project),
      key.user === undefined ? undefined : store.getUser(key.user),
      store.listProjectAccounts(key.project),
    ]);
    return { key, project, user, accounts: accounts.map(projectAccountSettings) };
  };
  if (ttlMs <= 0) return { load: fresh };

  const entries = new Map<string, { readonly expires: number; readonly policy: Promise<Policy | undefined> }>();
  return {
    load(keyId) {
      const at = now();
      const hit = entries.get(keyId);
      if (hit && hit.expires > at) return hit.policy;
      entries.delete(keyId);
      if (entries.size >= maxEntries) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
      // Cache the promise, so a burst of requests for a cold key makes one lookup, not many.
      const policy = fresh(keyId);
      entries.set(keyId, { expires: at + ttlMs, policy });
      policy.catch(() => entries.delete(keyId));
      return policy;
    },
  };
}
