/**
 * The one narrow port between the gateway and its durable state.
 *
 * Two adapters implement it — SQLite (embedded, `npm start`) and DynamoDB (AWS) — and both
 * pass `test/store/contract.ts`. Money is integer nano-dollars everywhere behind this port.
 *
 * Spend moves in two steps around every forwarded request:
 *
 * ```
 *  reserve(r) ──▶ forward ──▶ stream / body ──▶ settle(r, actual)
 *     │ claims: committed += estimate (refused if a cap would be crossed)
 *     │ record r, expiring at r.expiresAt           │ committed += actual − estimate
 *     │                                              │ nanos += actual, requests += 1
 *     └── never settled (crash)? ──▶ expired(now) ──▶ settle(r, r.estimateNanos)
 * ```
 *
 * @example
 * const store = openSqliteStore({ dataDir: '.tollgate' });
 * const outcome = await store.reserve(reservation);
 * if (outcome.ok) await store.settle(reservation, 7_375_000);
 */
export interface Store {
  /** Idempotent: an existing project keeps its settings. */
  createProject(project: ProjectRecord): Promise<void>;
  getProject(name: string): Promise<ProjectRecord | undefined>;
  listProjects(): Promise<ProjectRecord[]>;
  /** False if there is no such project. */
  updateProject(name: string, patch: ProjectPatch): Promise<boolean>;

  /** Idempotent: an existing user keeps its settings. */
  createUser(user: UserRecord): Promise<void>;
  getUser(name: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  updateUser(name: string, patch: UserPatch): Promise<boolean>;

  /** Fails with {@link DuplicateKeyIdError} if the id is taken. */
  createKey(key: KeyRecord): Promise<void>;
  getKey(id: string): Promise<KeyRecord | undefined>;
  listKeys(filter?: { project?: string; user?: string }): Promise<KeyRecord[]>;
  /** Returns false if no such key exists; revoking twice keeps the first revocation time. */
  revokeKey(id: string, at: Date): Promise<boolean>;
  updateKey(id: string, patch: KeyPatch): Promise<boolean>;

  /**
   * Applies every claim or none. A refused claim is named, so the caller can say which cap and
   * when it resets; a granted reservation says what each cap has left ({@link ClaimStanding}),
   * read from the write that made the claim. The reservation itself is recorded until settled, so
   * a crash cannot leak it.
   */
  reserve(reservation: Reservation): Promise<ReserveOutcome>;
  /**
   * Releases the reservation's claims and records `actualNanos` (and one request) against every
   * scope × period of the reservation's time. Settling twice is a no-op: returns false.
   */
  settle(reservation: Reservation, actualNanos: number): Promise<boolean>;
  /**
   * Hands back what the reservation holds and records nothing against its scopes: for a request
   * that went to another provider instead (a failover), whose spend and request count belong to
   * the attempt that answered. Releasing or settling twice is a no-op: returns false.
   */
  release(reservation: Reservation): Promise<boolean>;
  /** Reservations whose holder never settled them, oldest first. */
  expiredReservations(now: Date, limit?: number): Promise<Reservation[]>;

  /**
   * Adds a project's own provider account (BYOK). False if the project already has an account of
   * that name: the existing one is kept.
   */
  addProjectAccount(account: ProjectAccountRecord): Promise<boolean>;
  /** One project's own accounts, or every project's; by project, then name. */
  listProjectAccounts(project?: string): Promise<ProjectAccountRecord[]>;
  /** The account removed, so whatever held its credential can be cleaned up; undefined if there was none. */
  removeProjectAccount(project: string, name: string): Promise<ProjectAccountRecord | undefined>;

  /** Spend counters (day, week, month, lifetime) for one scope, every scope of a kind, or all. */
  getSpend(query?: SpendQuery): Promise<SpendCounter[]>;

  close(): Promise<void>;
}

/**
 * `key`, `user` and `project` carry caps. `byok` (id `<project>/<account>`) only records what a
 * project spent on its own provider account, so an operator can bill back the rest: a project's
 * managed spend is its total less its `byok` scopes, settled in the same write.
 */
export type ScopeKind = 'key' | 'user' | 'project' | 'byok';

export interface Scope {
  readonly kind: ScopeKind;
  readonly id: string;
}

/** Caps in nano-dollars per UTC calendar period; an absent field is no cap. */
export interface Limits {
  readonly daily?: number;
  readonly weekly?: number;
  readonly monthly?: number;
  readonly lifetime?: number;
}

/**
 * `strict`: reserve each request's upper-bound estimate, so caps are never crossed.
 * `soft`: admit while settled spend is under the cap; concurrent requests may overshoot.
 */
export type LimitMode = 'strict' | 'soft';

export interface RateLimits {
  readonly requestsPerMinute?: number;
  /** Requests in flight at once; a stream counts until it ends. */
  readonly concurrent?: number;
}

/**
 * Which routes and models may be used, as glob patterns: `*` any run of characters, `?` any one,
 * everything else itself, case included. An absent or empty list allows every route (or model).
 * A key's lists narrow its project's: a request must pass both (see `limits/access.ts`).
 *
 * @example
 * const access: AccessLists = { routes: ['openai', 'anthropic'], models: ['gpt-5*', 'claude-*'] };
 */
export interface AccessLists {
  readonly routes?: readonly string[];
  readonly models?: readonly string[];
}

export interface ProjectRecord {
  readonly name: string;
  readonly createdAt: string;
  readonly limits?: Limits;
  /** @default 'strict' */
  readonly mode?: LimitMode;
  /** @default every route and model */
  readonly access?: AccessLists;
}

export interface UserRecord {
  readonly name: string;
  readonly createdAt: string;
  /** Apply across all of the user's keys. */
  readonly limits?: Limits;
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
  readonly disabledAt?: string;
  readonly expiresAt?: string;
  /** Set after a request whose cost could not be calculated, where the provider's policy says block. */
  readonly blockedUntil?: string;
  readonly limits?: Limits;
  readonly rateLimits?: RateLimits;
  /** Narrows the project's {@link ProjectRecord.access}. @default every route and model the project allows */
  readonly access?: AccessLists;
}

/**
 * A provider account a project brings for itself (BYOK): it serves that project's keys only, in
 * place of the gateway's own accounts of its kind. Its credential is never stored in clear.
 */
export interface ProjectAccountRecord {
  readonly project: string;
  /** Unique within the project; also a route name for the project's keys. */
  readonly name: string;
  /** A provider kind, as stored; checked against the kinds this gateway knows when it is used. */
  readonly kind: string;
  readonly baseUrl?: string;
  /** The kind's options (JSON), validated by its adapter as a config file's would be. */
  readonly options?: unknown;
  readonly credential: StoredCredential;
  /** What a request whose cost cannot be calculated meets, as a config file's `unpriced`; absent is `reject`. */
  readonly unpriced?: 'reject' | 'allow' | 'block';
  /** Under `block`, how long the key is blocked. @default 60 */
  readonly unpricedBlockMinutes?: number;
  /** The credential's last four characters, for listings; empty when it is too short to show any, or JSON. */
  readonly hint: string;
  /** A service-account JSON credential's `client_email` (not a secret): what listings show of it instead. */
  readonly serviceAccount?: string;
  readonly createdAt: string;
}

/**
 * Where a project account's credential is: sealed (AES-256-GCM) with the gateway's local secret
 * key, or a Secrets Manager secret under the stack's prefix (on AWS).
 */
export type StoredCredential = { readonly kind: 'sealed'; readonly sealed: string } | { readonly kind: 'secret'; readonly secretId: string };

/** `null` clears a field; an absent field is left as it is. */
export type Patch<T> = { readonly [K in keyof T]?: T[K] | null };
export type ProjectPatch = Patch<Pick<ProjectRecord, 'limits' | 'mode' | 'access'>>;
export type UserPatch = Patch<Pick<UserRecord, 'limits'>>;
export type KeyPatch = Patch<Pick<KeyRecord, 'disabledAt' | 'expiresAt' | 'blockedUntil' | 'limits' | 'rateLimits' | 'access'>>;

/**
 * What a claim counts: nano-dollars of spend, requests in a minute, or requests in flight.
 * Spend claims live on the scope's period counters; the others on counters of their own.
 */
export type ClaimUnit = 'nanos' | 'requests' | 'inflight';

export interface Claim {
  readonly scope: Scope;
  /** A spend period label, `minute:<YYYY-MM-DDTHH:MM>` for request rates, or `inflight`. */
  readonly period: string;
  readonly unit: ClaimUnit;
  /** Added to the counter's committed total; released (nanos, inflight) when settled. */
  readonly amount: number;
  readonly limit: number;
  /** `within`: committed + amount ≤ limit. `under`: settled spend < limit (soft caps). */
  readonly rule: 'within' | 'under';
}

export interface Reservation {
  readonly id: string;
  /** The request's time: its spend lands in the periods of this instant, whenever it settles. */
  readonly at: Date;
  /** Every scope the request's spend is recorded against (key, project, user). */
  readonly scopes: readonly Scope[];
  readonly claims: readonly Claim[];
  /** The upper bound reserved; what an expired reservation is settled at. */
  readonly estimateNanos: number;
  readonly expiresAt: Date;
}

/**
 * A reservation granted, with where each of its caps stands; or refused, naming the claim that
 * refused it (the first, in the reservation's order, when several had no room).
 */
export type ReserveOutcome = { readonly ok: true; readonly standing: readonly ClaimStanding[] } | { readonly ok: false; readonly refused: Claim };

/**
 * Where one claim's counter stood once the reservation was applied, read in the same write that
 * made the claim: `standing[i]` is `reservation.claims[i]`'s. Spend figures can be behind by
 * settlements on other days a DynamoDB store has cached (at most a minute); never by this request.
 *
 * @example
 * // A $10 daily cap on a key with $4 settled and $1.50 held by other requests, reserving $0.50:
 * // { used: 6_000_000_000, remaining: 4_000_000_000 }
 */
export interface ClaimStanding {
  /**
   * `within`: the counter's committed total with this claim (settled spend plus what requests in
   * flight hold, this one included; requests this minute; requests in flight). `under`: settled
   * spend, which is what a soft cap compares.
   */
  readonly used: number;
  /** `max(0, limit − used)`: what the cap has left for other requests. */
  readonly remaining: number;
}

/** A claim's standing from what its counter holds. */
export function standingOf(claim: Claim, used: number): ClaimStanding {
  return { used, remaining: Math.max(0, claim.limit - used) };
}

export interface SpendQuery {
  readonly kind?: ScopeKind;
  readonly id?: string;
}

export interface SpendCounter {
  readonly scope: Scope;
  /** `day:2026-11-27`, `week:2026-11-23` (the Monday it starts), `month:2026-11` or `lifetime`. */
  readonly period: string;
  /** Settled spend. */
  readonly nanos: number;
  /** Held by requests still in flight. */
  readonly reservedNanos: number;
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

export function scopesOf(key: Pick<KeyRecord, 'id' | 'project' | 'user'>): Scope[] {
  return [
    { kind: 'key', id: key.id },
    { kind: 'project', id: key.project },
    ...(key.user !== undefined ? [{ kind: 'user' as const, id: key.user }] : []),
  ];
}
