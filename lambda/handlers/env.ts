import { METRICS_NAMESPACE_ENV } from '../observability/catalog';

/**
 * The environment the stack gives the Lambda functions. `lib/` sets exactly these names and the
 * handlers read exactly these, so a rename cannot leave one side behind.
 */
export const LAMBDA_ENV = {
  /** The gateway config as JSON (the `tollgate.config.json` shape). */
  config: 'TOLLGATE_CONFIG_JSON',
  keysTable: 'TOLLGATE_KEYS_TABLE',
  spendTable: 'TOLLGATE_SPEND_TABLE',
  /** Holds the last good copy of genai-prices' data. */
  pricesTable: 'TOLLGATE_PRICES_TABLE',
  /** Where the refresher fetches price data from. */
  pricesUrl: 'TOLLGATE_PRICES_URL',
  /** How often a running proxy looks for a newer stored copy. */
  pricesRecheckMinutes: 'TOLLGATE_PRICES_RECHECK_MINUTES',
  /** How long a Secrets Manager value is cached. */
  secretsTtlSeconds: 'TOLLGATE_SECRETS_TTL_SECONDS',
  metricsNamespace: METRICS_NAMESPACE_ENV,
  /** Partition keys the settlements of uncapped scopes are spread over (1 to 4; see `store/dynamodb-day-counters.ts`). */
  spendShards: 'TOLLGATE_SPEND_SHARDS',
  /** With a CloudFront front: the secret whose value CloudFront sends in {@link ORIGIN_HEADER}. */
  originSecret: 'TOLLGATE_ORIGIN_SECRET_ARN',
} as const;

/**
 * The header CloudFront adds to every request it forwards (with a CloudFront front): the proxy
 * serves only requests that carry the origin secret in it, and removes it before anything else
 * sees the request.
 */
export const ORIGIN_HEADER = 'x-tollgate-origin';

/** @default minutes between a proxy's checks for a newer stored price copy */
export const DEFAULT_PRICES_RECHECK_MINUTES = 10;
/** @default seconds a provider secret is cached by each proxy instance */
export const DEFAULT_SECRETS_TTL_SECONDS = 300;

/**
 * What the proxy keeps of its timeout to end a request cleanly: answer or cut the client, and
 * write the spend. The stack ends every upstream wait this long before the timeout, and the
 * handler stops whatever is still running at that point.
 */
export const SETTLE_MARGIN_MS = 30_000;

export function requiredEnv(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set: the Lambda function's environment comes from the Tollgate stack; redeploy it`);
  return value;
}

/** A positive number from the environment, or the default when unset. */
export function numberEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not "${raw}"`);
  return value;
}
