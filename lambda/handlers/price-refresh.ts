import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEFAULT_METRICS_NAMESPACE } from '../observability/catalog';
import { emfFields, type MetricValues } from '../observability/emf';
import { requiredPricingIds } from '../prices/apply';
import { dynamoPriceStore } from '../prices/dynamodb-store';
import { refreshPrices, type RefreshResult } from '../prices/refresh';
import type { PriceSnapshotMeta, PriceStore } from '../prices/store';
import { LAMBDA_ENV, requiredEnv } from './env';

export interface PriceRefreshSummary {
  readonly outcome: RefreshResult['kind'] | 'store-failed';
  readonly reason?: string;
  /** The copy in force after this run. */
  readonly sha256?: string;
  readonly checkedAt?: string;
}

export interface PriceRefreshOptions {
  readonly store: PriceStore;
  readonly url?: string;
  readonly namespace: string;
  /** @default process.stdout */
  readonly write?: (line: string) => void;
  /** @default () => new Date() */
  readonly clock?: () => Date;
}

const HOUR_MS = 3_600_000;

/**
 * One scheduled refresh: fetch, validate, store (or keep the old copy), then publish two metrics
 * the stale-prices alarm watches — `PriceRefreshFailures` (0 or 1) and `PriceDataAgeHours` (since
 * the copy in force was last confirmed; absent when there is no copy at all, which the alarm
 * treats as breaching). It never throws: a failure is a metric, not a retry storm.
 */
export async function runPriceRefresh(options: PriceRefreshOptions): Promise<PriceRefreshSummary> {
  const clock = options.clock ?? (() => new Date());
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  let summary: PriceRefreshSummary;
  let current: PriceSnapshotMeta | undefined;
  try {
    const result = await refreshPrices({ store: options.store, requiredProviders: requiredPricingIds(), clock, ...(options.url && { url: options.url }) });
    current = result.kind === 'updated' || result.kind === 'unchanged' ? result.snapshot : result.kept;
    summary = { outcome: result.kind, ...('reason' in result && { reason: result.reason }) };
  } catch (error) {
    // The fetch and the checks passed but the copy could not be read or written.
    summary = { outcome: 'store-failed', reason: error instanceof Error ? error.message : String(error) };
    current = await options.store.head().catch(() => undefined);
  }
  if (current) summary = { ...summary, sha256: current.sha256, checkedAt: current.checkedAt };

  const now = clock();
  const failed = summary.outcome !== 'updated' && summary.outcome !== 'unchanged';
  const values: MetricValues = {
    priceRefreshFailures: failed ? 1 : 0,
    ...(current && { priceDataAge: (now.getTime() - Date.parse(current.checkedAt)) / HOUR_MS }),
  };
  const line = { level: failed ? 'error' : 'info', event: 'price_refresh', ...summary, ...emfFields(options.namespace, now.getTime(), ['prices'], values, {}) };
  write(`${JSON.stringify(line)}\n`);
  return summary;
}

// Created on the first run, kept for the sandbox's life; importing this module does nothing.
let defaultStore: PriceStore | undefined;

/** The EventBridge-scheduled entry point; the event itself carries nothing we need. */
export const handler = async (): Promise<PriceRefreshSummary> => {
  const env = process.env;
  defaultStore ??= dynamoPriceStore({ client: new DynamoDBClient({}), table: requiredEnv(env, LAMBDA_ENV.pricesTable) });
  return runPriceRefresh({
    store: defaultStore,
    namespace: env[LAMBDA_ENV.metricsNamespace] || DEFAULT_METRICS_NAMESPACE,
    ...(env[LAMBDA_ENV.pricesUrl] && { url: env[LAMBDA_ENV.pricesUrl] }),
  });
};
