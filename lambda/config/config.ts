import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FormatId } from '../formats/types';
import { MAX_MODEL_NAME_LENGTH, type CustomPrice } from '../pricing/pricer';
import { basisPoints, MAX_TIER_MULTIPLIER, type TierPrices } from '../pricing/tiers';
import { formatsOf, HOSTED_PROVIDER_IDS, isProviderId, pricingIdOf, PROVIDER_IDS, PROVIDERS } from '../providers';
import type { HostedProviderId, ProviderAdapter, ProviderId, UnhostedProviderId } from '../providers/types';
import { resolveRouteGroups, routeGroupSchema, type RouteGroup } from './routing';
import { resolveTracing, tracingSchema, type TracingSettings } from '../observability/otel/settings';
import { ConfigError } from './config-error';
import * as z from './zod';

/**
 * Where a provider credential comes from: an environment variable, or an AWS Secrets Manager
 * secret (its whole string, or one field of a JSON secret).
 */
export type CredentialSource =
  | { readonly kind: 'env'; readonly name: string }
  | { readonly kind: 'secret'; readonly secretId: string; readonly field?: string }
  /** A project's own credential, sealed in the local store by `tollgate providers add` (never from a config file). */
  | { readonly kind: 'sealed'; readonly sealed: string };

/**
 * One provider account: a name the operator chose (or a kind's own name, for the account every
 * kind has by default), the kind of provider it is, and where and as whom it calls.
 */
export interface ProviderSettings {
  /** The account's name: a route name of its own, and what logs, spend rows and `x-tollgate-provider` report. */
  readonly name: string;
  readonly kind: ProviderId;
  /** The kind's primary wire format. */
  readonly format: FormatId;
  /** Only this decides the upstream host: nothing in a request can change it. */
  readonly baseUrl: URL;
  /** Undefined only for providers that may authenticate without one (the AWS credential chain). */
  readonly credential: CredentialSource | undefined;
  /** Provider-specific settings, validated by the provider's own schema. */
  readonly options: unknown;
  /** What to do when a request's cost cannot be calculated. */
  readonly unpriced: UnpricedPolicy;
  /** Set on a project's own account (BYOK, added with `tollgate providers add`): it serves that project's keys only. */
  readonly project?: string;
  /**
   * The account's own price for service tiers, as basis points of the standard rates (its
   * contract's Priority Tier, say), over the API's documented ones.
   */
  readonly tiers?: TierPrices;
}

/**
 * `reject` (default): refuse models with no known price before forwarding.
 * `allow`: forward them and record zero cost.
 * `block`: forward them, then block the key for `minutes` — the Pydantic AI Gateway's second mode.
 * A response that carries no usage is charged at its reservation's estimate under every policy,
 * and additionally blocks the key under `block`.
 */
export type UnpricedPolicy = { readonly kind: 'reject' } | { readonly kind: 'allow' } | { readonly kind: 'block'; readonly minutes: number };

/** The `unpriced` values a config file (and `tollgate providers add --unpriced`) may give. */
export const UNPRICED_POLICIES = ['reject', 'allow', 'block'] as const satisfies readonly UnpricedPolicy['kind'][];

export interface LimitSettings {
  /** Output tokens assumed for a request that sets no maximum of its own. @default 4096 */
  readonly defaultMaxOutputTokens: number;
  /** How long a reservation may go unsettled before the reconciler settles it at its estimate. @default 1200 */
  readonly reservationTtlSeconds: number;
  /** How long key, project and user records are cached; the bound on how late a revocation bites. @default 5000 */
  readonly keyCacheTtlMs: number;
  /**
   * Requests one key may have in flight in one gateway process, on top of any `--concurrent` cap
   * the key has: what keeps one key from taking every upstream connection. @default 64
   */
  readonly maxConcurrentPerKey: number;
}

/** What metering may hold or inflate for one response; past either, the bytes still pass but the request is charged its reservation. */
export interface MeteringSettings {
  /** The largest single piece metering buffers: a whole JSON document, an SSE event, a stream element. @default 16 MiB */
  readonly maxBufferedBytes: number;
  /** The most a compressed response is inflated for metering, in all. @default 128 MiB */
  readonly maxDecodedBytes: number;
}

/** Per attempt, towards the provider. */
export interface UpstreamSettings {
  /** TCP and TLS set-up. @default 10 s */
  readonly connectTimeoutMs: number;
  /** From the request sent to the response's headers (a long non-streaming reasoning call waits here). @default 600 s */
  readonly firstByteTimeoutMs: number;
  /** Longest silence between two chunks of a response body. @default 300 s */
  readonly idleTimeoutMs: number;
  /**
   * From the request sent to the response's last byte: what bounds an upstream that drips a byte
   * at a time, forever, on the local server (on Lambda the invocation's deadline does). @default 15 min
   */
  readonly totalTimeoutMs: number;
  /** Connections kept per provider origin. @default 512 */
  readonly connectionsPerOrigin: number;
}

/** How routing groups treat a failing member (see `lambda/routing`). */
export interface RoutingSettings {
  /** Consecutive failed attempts (no answer, 429, 5xx) that open an account's circuit. @default 5 */
  readonly circuitBreakerFailures: number;
  /** How long an open circuit keeps its account out of rotation before one trial request. @default 30 s */
  readonly circuitBreakerCooldownMs: number;
}

/** Towards clients, on the local server. */
export interface ServerSettings {
  /** The whole request body must arrive within this. @default 120 s */
  readonly bodyTimeoutMs: number;
  /** Longest silence while a request body arrives. @default 30 s */
  readonly bodyIdleTimeoutMs: number;
  /** An HTTP/2 connection with no open stream is closed after this. @default 30 s */
  readonly http2IdleTimeoutMs: number;
  /** Streams one HTTP/2 connection may have open at once. @default 128 */
  readonly http2MaxConcurrentStreams: number;
  /** A client that takes none of its response for this long is cut off, as if it had left. @default 60 s */
  readonly writeStallTimeoutMs: number;
  /**
   * Connections open at once, HTTP/1.1 and HTTP/2 alike (an HTTP/2 connection is one, whatever
   * its streams): past it a new connection is closed as soon as it is accepted, so a flood of idle
   * sockets cannot take every file descriptor. @default 1024
   */
  readonly maxConnections: number;
}

/**
 * Each kind's default account, the one named after it: always there for a kind with a well-known
 * host; for an unhosted kind (Azure OpenAI, a generic OpenAI-compatible server) only once the
 * config names it, since no base URL could stand in for the operator's own.
 */
export type DefaultAccounts = Readonly<Record<HostedProviderId, ProviderSettings>> & Readonly<Partial<Record<UnhostedProviderId, ProviderSettings>>>;

export interface GatewayConfig {
  /** Each kind's default account: the one named after the kind. */
  readonly providers: DefaultAccounts;
  /** Every account by name, the defaults included. */
  readonly accounts: ReadonlyMap<string, ProviderSettings>;
  /** Routing groups by route name. */
  readonly routes: ReadonlyMap<string, RouteGroup>;
  readonly prices: readonly CustomPrice[];
  readonly limits: LimitSettings;
  readonly metering: MeteringSettings;
  readonly upstream: UpstreamSettings;
  readonly routing: RoutingSettings;
  readonly server: ServerSettings;
  /** OpenTelemetry export; absent when the config has no `tracing` section (the `OTEL_*` environment may still turn it on). */
  readonly tracing?: TracingSettings;
}

export const DEFAULT_LIMIT_SETTINGS: LimitSettings = { defaultMaxOutputTokens: 4096, reservationTtlSeconds: 1200, keyCacheTtlMs: 5000, maxConcurrentPerKey: 64 };

const MIB = 1024 * 1024;

export const DEFAULT_METERING_SETTINGS: MeteringSettings = { maxBufferedBytes: 16 * MIB, maxDecodedBytes: 128 * MIB };

export const DEFAULT_UPSTREAM_SETTINGS: UpstreamSettings = {
  connectTimeoutMs: 10_000,
  firstByteTimeoutMs: 600_000,
  idleTimeoutMs: 300_000,
  totalTimeoutMs: 900_000,
  connectionsPerOrigin: 512,
};

export const DEFAULT_ROUTING_SETTINGS: RoutingSettings = { circuitBreakerFailures: 5, circuitBreakerCooldownMs: 30_000 };

export const DEFAULT_SERVER_SETTINGS: ServerSettings = {
  bodyTimeoutMs: 120_000,
  bodyIdleTimeoutMs: 30_000,
  http2IdleTimeoutMs: 30_000,
  http2MaxConcurrentStreams: 128,
  writeStallTimeoutMs: 60_000,
  maxConnections: 1024,
};

export const DEFAULT_CONFIG_FILE = 'tollgate.config.json';

export { ConfigError } from './config-error';

const httpUrl = z.string().check(
  z.refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), 'must be an http(s) URL'),
  z.refine((value) => !URL.canParse(value) || (new URL(value).search === '' && new URL(value).hash === ''), 'must not have a query or fragment'),
);

const nonEmpty = () => z.string().check(z.minLength(1));

const credentialSchema = z.union([z.strictObject({ env: nonEmpty() }), z.strictObject({ secret: nonEmpty(), field: z.optional(nonEmpty()) })]);

const providerSchema = z.strictObject({
  /** The provider kind; may be left out when the account is named after its kind (`"openai": {…}`). */
  kind: z.optional(z.enum(PROVIDER_IDS as [ProviderId, ...ProviderId[]])),
  format: z.optional(z.string()),
  baseUrl: z.optional(httpUrl),
  credential: z.optional(credentialSchema),
  /** Kept from the first release: `true` is `unpriced: "allow"`. */
  allowUnpriced: z.optional(z.boolean()),
  unpriced: z.optional(z.enum(UNPRICED_POLICIES)),
  unpricedBlockMinutes: z.optional(z.number().check(z.int(), z.positive())),
  /** Service tier name to its multiplier of the standard price, e.g. `{ "priority": 1.75 }`. */
  tiers: z.optional(
    z.record(
      z.string().check(z.minLength(1), z.maxLength(64)),
      z.number().check(z.refine((value) => basisPoints(value) !== undefined, `must be a multiplier from 0 to ${MAX_TIER_MULTIPLIER}, in steps of 0.0001`)),
    ),
  ),
  options: z.optional(z.unknown()),
});

export type ProviderFileSettings = z.infer<typeof providerSchema>;

// zod's numbers are finite already: Infinity and NaN fail as not a number.
const usdPerMillion = z.number().check(z.nonnegative());

const priceSchema = z.strictObject({
  /** A provider kind, or the name of a configured account (its prices are its kind's). */
  provider: nonEmpty(),
  // A longer name is refused before pricing, so its price could never be used.
  model: z.string().check(z.minLength(1), z.maxLength(MAX_MODEL_NAME_LENGTH)),
  input_mtok: usdPerMillion,
  output_mtok: usdPerMillion,
  cache_read_mtok: z.optional(usdPerMillion),
  cache_write_mtok: z.optional(usdPerMillion),
});

const positiveInt = () => z.optional(z.number().check(z.int(), z.positive()));

const fileSchema = z.strictObject({
  providers: z.optional(z.record(z.string(), providerSchema)),
  routes: z.optional(z.record(z.string(), routeGroupSchema)),
  prices: z.optional(z.array(priceSchema)),
  limits: z.optional(
    z.strictObject({
      defaultMaxOutputTokens: z.optional(z.number().check(z.int(), z.positive())),
      reservationTtlSeconds: z.optional(z.number().check(z.int(), z.positive())),
      keyCacheTtlMs: z.optional(z.number().check(z.int(), z.nonnegative())),
      maxConcurrentPerKey: positiveInt(),
    }),
  ),
  metering: z.optional(z.strictObject({ maxBufferedBytes: positiveInt(), maxDecodedBytes: positiveInt() })),
  upstream: z.optional(
    z.strictObject({
      connectTimeoutMs: positiveInt(),
      firstByteTimeoutMs: positiveInt(),
      idleTimeoutMs: positiveInt(),
      totalTimeoutMs: positiveInt(),
      connectionsPerOrigin: positiveInt(),
    }),
  ),
  routing: z.optional(z.strictObject({ circuitBreakerFailures: positiveInt(), circuitBreakerCooldownMs: positiveInt() })),
  server: z.optional(
    z.strictObject({
      bodyTimeoutMs: positiveInt(),
      bodyIdleTimeoutMs: positiveInt(),
      http2IdleTimeoutMs: positiveInt(),
      http2MaxConcurrentStreams: positiveInt(),
      writeStallTimeoutMs: positiveInt(),
      maxConnections: positiveInt(),
    }),
  ),
  tracing: z.optional(tracingSchema),
});

type ConfigFile = z.infer<typeof fileSchema>;

/**
 * Reads `TOLLGATE_CONFIG` (or `./tollgate.config.json` if present) and fills every gap with the
 * provider's defaults: the real API URL and its usual credential variable.
 *
 * @example
 * // tollgate.config.json
 * { "providers": { "openai": { "baseUrl": "http://127.0.0.1:9000/v1" } },
 *   "prices": [{ "provider": "openai", "model": "ft:gpt-4o-mini:acme", "input_mtok": 0.3, "output_mtok": 1.2 }] }
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): GatewayConfig {
  const explicit = env['TOLLGATE_CONFIG'];
  const path = resolve(cwd, explicit ?? DEFAULT_CONFIG_FILE);
  if (!explicit && !existsSync(path)) return parseConfig({}, '(defaults)');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parseConfig(raw, path);
}

export function parseConfig(raw: unknown, source: string): GatewayConfig {
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    // A misspelt field is the commonest mistake: name it, not just the object that holds it.
    const path = issue?.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : (issue?.path ?? []);
    const message = issue?.code === 'unrecognized_keys' ? 'unknown field' : (issue?.message ?? 'invalid');
    throw new ConfigError(`${source}: ${path.join('.') || '(root)'}: ${message}`);
  }
  return resolveConfig(parsed.data, source);
}

function resolveConfig(file: ConfigFile, source: string): GatewayConfig {
  const accounts = resolveAccounts(file.providers ?? {}, source);
  // Every hosted kind's is there (resolveAccounts made it); an unhosted kind's only if configured.
  const providers = Object.fromEntries(PROVIDER_IDS.flatMap((kind) => (accounts.has(kind) ? [[kind, accounts.get(kind)]] : []))) as DefaultAccounts;
  const prices = (file.prices ?? []).map(({ provider, model, ...prices }, index): CustomPrice => {
    const account = accounts.get(provider);
    if (!account) throw new ConfigError(`${source}: prices.${index}.provider: "${provider}" is neither a provider kind nor a configured account`);
    // Its kind's prices, or the account's own where it decides them.
    return { pricingId: pricingIdOf(account), model, prices };
  });
  return {
    providers,
    accounts,
    routes: resolveRouteGroups(file.routes ?? {}, accounts, source),
    prices,
    limits: { ...DEFAULT_LIMIT_SETTINGS, ...file.limits },
    metering: { ...DEFAULT_METERING_SETTINGS, ...file.metering },
    upstream: { ...DEFAULT_UPSTREAM_SETTINGS, ...file.upstream },
    routing: { ...DEFAULT_ROUTING_SETTINGS, ...file.routing },
    server: { ...DEFAULT_SERVER_SETTINGS, ...file.server },
    ...(file.tracing && { tracing: resolveTracing(file.tracing) }),
  };
}

/**
 * Every kind with a well-known host has an account named after it (configured or all defaults),
 * so today's files and the PAIG route names work unchanged; any other name is an account the
 * operator added. An unhosted kind has accounts only where the config names them.
 */
function resolveAccounts(given: Readonly<Record<string, ProviderFileSettings>>, source: string): Map<string, ProviderSettings> {
  const accounts = new Map<string, ProviderSettings>();
  for (const [name, settings] of Object.entries(given)) {
    const where = `${source}: providers.${name}`;
    if (!ACCOUNT_NAME.test(name)) throw new ConfigError(`${where}: an account name is lower-case letters, digits and "-", starting with a letter or digit (it is a route name)`);
    const kind = settings.kind ?? (isProviderId(name) ? name : undefined);
    if (kind === undefined) {
      throw new ConfigError(`${where}.kind: required for an account not named after its provider kind (one of ${PROVIDER_IDS.join(', ')})`);
    }
    accounts.set(name, accountSettings(name, kind, settings, where));
  }
  for (const kind of HOSTED_PROVIDER_IDS) if (!accounts.has(kind)) accounts.set(kind, accountSettings(kind, kind, {}, `${source}: providers.${kind}`));
  return accounts;
}

export const ACCOUNT_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** One account from its file settings: what a config file's `providers.<name>` resolves to (a project's own accounts are checked the same way). */
export function accountSettings(name: string, kind: ProviderId, given: ProviderFileSettings, where: string): ProviderSettings {
  const adapter = PROVIDERS[kind];
  const formats = formatsOf(adapter);
  if (given.format !== undefined && !formats.includes(given.format as FormatId)) {
    throw new ConfigError(`${where}.format: provider ${kind} speaks ${formats.map((format) => `"${format}"`).join(', ')}, not "${given.format}"`);
  }
  // An added account of a kind must say whose credential it uses: falling back to the kind's
  // usual variable would quietly bill the default account.
  const defaultEnv = name === kind ? adapter.defaults.credentialEnv : undefined;
  if (given.credential === undefined && defaultEnv === undefined && name !== kind && !adapter.credentialOptional) {
    throw new ConfigError(`${where}.credential: required for an account not named after its kind, e.g. {"env": "${name.toUpperCase().replaceAll('-', '_')}_API_KEY"}`);
  }
  const options = providerOptions(adapter, given.options, `${where}.options`);
  const baseUrl = given.baseUrl ?? adapter.defaultBaseUrl?.(options) ?? adapter.defaults.baseUrl;
  if (baseUrl === undefined) {
    const example = adapter.defaults.baseUrlExample;
    throw new ConfigError(`${where}.baseUrl: required for provider kind ${kind}, which has no default host${example ? `, e.g. "${example}"` : ''}`);
  }
  return {
    name,
    kind,
    format: adapter.format,
    baseUrl: new URL(baseUrl),
    credential: credentialSource(given.credential, defaultEnv),
    options,
    unpriced: unpricedPolicy(given.unpriced ?? (given.allowUnpriced ? 'allow' : 'reject'), given.unpricedBlockMinutes),
    ...(given.tiers && { tiers: new Map(Object.entries(given.tiers).map(([tier, multiplier]) => [tier, basisPoints(multiplier) as number])) }),
  };
}

function unpricedPolicy(kind: 'reject' | 'allow' | 'block', minutes: number | undefined): UnpricedPolicy {
  return kind === 'block' ? { kind, minutes: minutes ?? 60 } : { kind };
}

function credentialSource(given: z.infer<typeof credentialSchema> | undefined, defaultEnv: string | undefined): CredentialSource | undefined {
  if (given && 'secret' in given) return { kind: 'secret', secretId: given.secret, ...(given.field !== undefined && { field: given.field }) };
  const name = given?.env ?? defaultEnv;
  return name === undefined ? undefined : { kind: 'env', name };
}

function providerOptions(adapter: ProviderAdapter<unknown>, raw: unknown, where: string): unknown {
  if (!adapter.options) {
    if (raw !== undefined) throw new ConfigError(`${where}: provider kind ${adapter.id} takes no options`);
    return undefined;
  }
  const parsed = adapter.options.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new ConfigError(`${where}${issue?.path.length ? `.${issue.path.join('.')}` : ''}: ${issue?.message ?? 'invalid'}`);
}
