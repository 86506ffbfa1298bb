/**
 * The one list of CloudWatch metrics tollgate publishes. The EMF logger emits exactly these
 * metric × dimension-set combinations, and the CDK dashboard and alarms (`lib/`) read them from
 * here, so neither side can name a metric or a dimension set the other does not know.
 *
 * Each set publishes its metrics under one dimension set only. A metric is a CloudWatch custom
 * metric per distinct dimension *value* combination (billed monthly), so the sets are kept to what
 * the dashboard shows: totals, per provider, per project, per provider × model.
 *
 * @example
 * // lib/: a dashboard line that cannot drift from the emitter
 * const ref = metricRef('byProject', 'costUsd'); // { metricName: 'CostUSD', dimensions: ['Project'] }
 */

/** @default namespace; a stack may override it (`TOLLGATE_METRICS_NAMESPACE`) to keep two stages apart. */
export const DEFAULT_METRICS_NAMESPACE = 'Tollgate';

/** The environment variable the Lambda functions read their namespace from. */
export const METRICS_NAMESPACE_ENV = 'TOLLGATE_METRICS_NAMESPACE';

export const DIMENSIONS = {
  /** The account's name; a project's own account (BYOK) is `byok:<kind>`, so projects cannot add series. */
  provider: 'Provider',
  project: 'Project',
  model: 'Model',
} as const;

export type DimensionKey = keyof typeof DIMENSIONS;
export type DimensionName = (typeof DIMENSIONS)[DimensionKey];

/** CloudWatch units, the subset we use. */
export type MetricUnit = 'Count' | 'Milliseconds' | 'None';

export interface MetricDefinition {
  readonly name: string;
  readonly unit: MetricUnit;
}

export const METRICS = {
  /** One per request the gateway answered, whatever the outcome, free calls (model lists, token counts) included. */
  requests: { name: 'Requests', unit: 'Count' },
  /** 5xx answers (the gateway's or the provider's) and streams the provider broke. */
  serverErrors: { name: 'ServerErrors', unit: 'Count' },
  /** 4xx answers: bad keys, unpriced models, spend limits, the provider's own 4xx. */
  clientErrors: { name: 'ClientErrors', unit: 'Count' },
  /** Settled cost in USD (from integer nano-dollars). */
  costUsd: { name: 'CostUSD', unit: 'None' },
  inputTokens: { name: 'InputTokens', unit: 'Count' },
  outputTokens: { name: 'OutputTokens', unit: 'Count' },
  /** From the start of forwarding to settlement: for a stream, its whole length. Metered requests only. */
  latency: { name: 'LatencyMs', unit: 'Milliseconds' },
  /** Requests whose usage could not be priced and were recorded at zero cost. */
  unpriced: { name: 'UnpricedRequests', unit: 'Count' },
  /** Requests whose settled cost exceeded what was reserved for them (no output cap of their own, or media their bytes do not bound). */
  spendOverReservation: { name: 'SpendOverReservation', unit: 'Count' },
  /** Responses whose usage claimed more output than the request allowed: charged at the bound, and a sign of a faulty upstream. */
  usageClamped: { name: 'UsageClamped', unit: 'Count' },
  /** Spend the gateway served but could not write, after its retries. */
  spendWriteFailures: { name: 'SpendWriteFailures', unit: 'Count' },
  /** Store operations that failed (a DynamoDB error, a dead SQLite writer): a failed reserve or key lookup is a 503, a failed settlement is retried. */
  storeFailures: { name: 'StoreFailures', unit: 'Count' },
  /** A scheduled price refresh that fetched nothing usable (unreachable or rejected data). */
  priceRefreshFailures: { name: 'PriceRefreshFailures', unit: 'Count' },
  /** Hours since the stored price data was last confirmed against the source. */
  priceDataAge: { name: 'PriceDataAgeHours', unit: 'None' },
  /** Attempts at a provider account that failed (no answer, 429, 5xx, a member's failover status): each sent the request to the next member, or was the last. */
  failedAttempts: { name: 'FailedAttempts', unit: 'Count' },
  /** Times a provider account's circuit opened, taking it out of its routing groups for a cool-down. */
  circuitsOpened: { name: 'CircuitsOpened', unit: 'Count' },
} as const satisfies Record<string, MetricDefinition>;

export type MetricKey = keyof typeof METRICS;

export interface MetricSet {
  readonly dimensions: readonly DimensionKey[];
  readonly metrics: readonly MetricKey[];
}

export const METRIC_SETS = {
  /** No dimensions: the region's totals, which the alarms watch. */
  total: {
    dimensions: [],
    metrics: [
      'requests',
      'serverErrors',
      'clientErrors',
      'costUsd',
      'inputTokens',
      'outputTokens',
      'latency',
      'unpriced',
      'spendWriteFailures',
      'spendOverReservation',
      'usageClamped',
    ],
  },
  byProvider: { dimensions: ['provider'], metrics: ['requests', 'serverErrors', 'clientErrors', 'latency', 'costUsd'] },
  byProject: { dimensions: ['project'], metrics: ['requests', 'costUsd', 'inputTokens', 'outputTokens'] },
  byModel: { dimensions: ['provider', 'model'], metrics: ['requests', 'costUsd', 'inputTokens', 'outputTokens'] },
  /** Failed store operations, from the proxy's `store_unavailable` events: a region's total, as the alarms watch. */
  store: { dimensions: [], metrics: ['storeFailures'] },
  /** Published by the price-refresh function, not the proxy. */
  prices: { dimensions: [], metrics: ['priceRefreshFailures', 'priceDataAge'] },
  /** Routing groups' failovers and circuit breakers, by the provider account concerned. */
  routing: { dimensions: ['provider'], metrics: ['failedAttempts', 'circuitsOpened'] },
} as const satisfies Record<string, MetricSet>;

export type MetricSetName = keyof typeof METRIC_SETS;
export type MetricOf<S extends MetricSetName> = (typeof METRIC_SETS)[S]['metrics'][number];

/** A metric as CloudWatch knows it: name plus the dimension *names* it is published under. */
export interface MetricRef {
  readonly metricName: string;
  readonly unit: MetricUnit;
  readonly dimensions: readonly DimensionName[];
}

/** Only metrics a set actually carries type-check: `metricRef('byProject', 'latency')` does not compile. */
export function metricRef<S extends MetricSetName>(set: S, metric: MetricOf<S>): MetricRef {
  const definition: MetricDefinition = METRICS[metric];
  return {
    metricName: definition.name,
    unit: definition.unit,
    dimensions: METRIC_SETS[set].dimensions.map((key: DimensionKey) => DIMENSIONS[key]),
  };
}

/** Every metric × dimension set the emitters can produce, as `Name|Dim1,Dim2` strings (for tests and docs). */
export function publishedMetrics(): Set<string> {
  const out = new Set<string>();
  for (const set of Object.values(METRIC_SETS) as MetricSet[]) {
    for (const metric of set.metrics) out.add(`${METRICS[metric].name}|${set.dimensions.map((key) => DIMENSIONS[key]).join(',')}`);
  }
  return out;
}
