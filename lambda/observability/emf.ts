import type { LogFields, Logger } from '../core/log';
import {
  DEFAULT_METRICS_NAMESPACE,
  DIMENSIONS,
  METRIC_SETS,
  METRICS,
  type DimensionKey,
  type MetricKey,
  type MetricSet,
  type MetricSetName,
} from './catalog';

/** The EMF metadata block: CloudWatch Logs extracts the metrics it names from the same line. */
export interface EmfMetadata {
  readonly Timestamp: number;
  readonly CloudWatchMetrics: readonly EmfDirective[];
}

export interface EmfDirective {
  readonly Namespace: string;
  readonly Dimensions: readonly (readonly string[])[];
  readonly Metrics: readonly { readonly Name: string; readonly Unit: string }[];
}

export type MetricValues = Partial<Record<MetricKey, number>>;
export type DimensionValues = Partial<Record<DimensionKey, string>>;

export interface EmfLoggerOptions {
  /** @default 'Tollgate' */
  readonly namespace?: string;
  /** Where each line goes. @default process.stdout, which Lambda ships to CloudWatch Logs as is. */
  readonly write?: (line: string) => void;
  /** Milliseconds since the epoch. @default Date.now */
  readonly clock?: () => number;
}

const NANOS_PER_USD = 1_000_000_000;

/** The sets the proxy's request events feed; `prices` belongs to the refresher. */
const REQUEST_SETS: readonly MetricSetName[] = ['total', 'byProvider', 'byProject', 'byModel'];
/** The set the store wrapper's events feed. */
const STORE_SETS: readonly MetricSetName[] = ['store'];
/** The set routing's events feed. */
const ROUTING_SETS: readonly MetricSetName[] = ['routing'];

/**
 * The core's {@link Logger} for Lambda: every event stays one structured JSON line, and the three
 * events that describe a request's fate also carry CloudWatch embedded metrics — no agent, no
 * PutMetricData call, nothing to await:
 *
 * - `request_settled`: Requests, errors by status class, CostUSD, tokens, LatencyMs, UnpricedRequests,
 *   SpendOverReservation, UsageClamped
 * - `spend_write_failed`: the same (the request was still served) plus SpendWriteFailures
 * - `free_request_settled`: a call that runs no model (a model list, a token count): Requests,
 *   errors by status class, CostUSD 0, by provider and project
 * - `request_rejected`: Requests and errors, by the provider account tried last if any was; nothing
 *   when it says `settled` (its `request_settled` or `free_request_settled` line counted the
 *   request: one request, one count)
 * - `store_unavailable`: StoreFailures (one per request whose store operation failed: the hand-back
 *   of a reservation whose reserve failed is the same failure, and a settlement's retries are logged
 *   once, as it ends)
 * - `upstream_attempt_failed`: FailedAttempts, by provider (the account that failed)
 * - `circuit_opened`: CircuitsOpened, by provider
 *
 * "By provider" is the account's name, or `byok:<kind>` for a project's own account.
 *
 * @example
 * const gateway = createGateway({ ...deps, logger: emfLogger({ namespace: 'Tollgate' }) });
 */
export function emfLogger(options: EmfLoggerOptions = {}): Logger {
  const namespace = options.namespace ?? DEFAULT_METRICS_NAMESPACE;
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const clock = options.clock ?? Date.now;
  const emit = (level: 'info' | 'error', event: string, fields: LogFields = {}) => {
    const metrics = requestMetrics(event, fields) ?? routingMetrics(event, fields);
    const line = metrics ? { level, event, ...fields, ...emfFields(namespace, clock(), metrics.sets, metrics.values, metrics.dimensions) } : { level, event, ...fields };
    write(`${JSON.stringify(line)}\n`);
  };
  return { info: (event, fields) => emit('info', event, fields), error: (event, fields) => emit('error', event, fields) };
}

/**
 * The root members of an EMF document: `_aws`, the dimension values and the metric values. A set
 * is published only when every one of its dimensions has a value, and with only the metrics that
 * have one, so a line never names a member it lacks (CloudWatch would drop the whole line).
 */
export function emfFields(
  namespace: string,
  timestamp: number,
  sets: readonly MetricSetName[],
  values: MetricValues,
  dimensions: DimensionValues,
): Record<string, unknown> {
  const directives: EmfDirective[] = [];
  for (const name of sets) {
    const set: MetricSet = METRIC_SETS[name];
    if (!set.dimensions.every((key) => dimensions[key] !== undefined)) continue;
    const metrics = set.metrics.filter((metric) => values[metric] !== undefined);
    if (metrics.length === 0) continue;
    directives.push({
      Namespace: namespace,
      Dimensions: [set.dimensions.map((key) => DIMENSIONS[key])],
      Metrics: metrics.map((metric) => ({ Name: METRICS[metric].name, Unit: METRICS[metric].unit })),
    });
  }
  const members: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(dimensions) as [DimensionKey, string | undefined][]) {
    if (value !== undefined) members[DIMENSIONS[key]] = value;
  }
  for (const [key, value] of Object.entries(values) as [MetricKey, number | undefined][]) {
    if (value !== undefined) members[METRICS[key].name] = value;
  }
  const metadata: EmfMetadata = { Timestamp: timestamp, CloudWatchMetrics: directives };
  return { _aws: metadata, ...members };
}

interface EventMetrics {
  readonly sets: readonly MetricSetName[];
  readonly values: MetricValues;
  readonly dimensions: DimensionValues;
}

function routingMetrics(event: string, fields: LogFields): EventMetrics | undefined {
  const dimensions = { ...optional('provider', providerDimension(fields)) };
  switch (event) {
    case 'upstream_attempt_failed':
      return { sets: ROUTING_SETS, values: { failedAttempts: 1 }, dimensions };
    case 'circuit_opened':
      return { sets: ROUTING_SETS, values: { circuitsOpened: 1 }, dimensions };
    default:
      return undefined;
  }
}

function requestMetrics(event: string, fields: LogFields): EventMetrics | undefined {
  const status = numberField(fields, 'status');
  const errors = {
    serverErrors: status !== undefined && status >= 500 ? 1 : 0,
    clientErrors: status !== undefined && status >= 400 && status < 500 ? 1 : 0,
  };
  switch (event) {
    case 'request_settled':
    case 'spend_write_failed': {
      const nanos = numberField(fields, 'nanos');
      const brokenStream = fields['outcome'] === 'upstream-failed';
      return {
        sets: REQUEST_SETS,
        values: {
          requests: 1,
          ...errors,
          ...(brokenStream && { serverErrors: 1 }),
          ...(nanos !== undefined && { costUsd: nanos / NANOS_PER_USD }),
          ...optional('inputTokens', numberField(fields, 'input_tokens')),
          ...optional('outputTokens', numberField(fields, 'output_tokens')),
          ...optional('latency', numberField(fields, 'duration_ms')),
          unpriced: fields['priced'] === false ? 1 : 0,
          spendWriteFailures: event === 'spend_write_failed' ? 1 : 0,
          spendOverReservation: numberField(fields, 'over_reservation_nanos') !== undefined ? 1 : 0,
          usageClamped: numberField(fields, 'reported_output_tokens') !== undefined ? 1 : 0,
        },
        dimensions: {
          ...optional('provider', providerDimension(fields)),
          ...optional('project', stringField(fields, 'project')),
          ...optional('model', stringField(fields, 'model')),
        },
      };
    }
    case 'free_request_settled':
      // A call that ran no model: a request and its error like any other, at no cost. No latency:
      // a model list's milliseconds would pull the percentiles of model calls down.
      return {
        sets: REQUEST_SETS,
        values: { requests: 1, ...errors, ...(fields['outcome'] === 'upstream-failed' && { serverErrors: 1 }), costUsd: 0 },
        dimensions: { ...optional('provider', providerDimension(fields)), ...optional('project', stringField(fields, 'project')) },
      };
    case 'request_rejected':
      // A request settled before it failed was counted, error and all, by its `request_settled` line.
      if (fields['settled'] === true) return undefined;
      return { sets: REQUEST_SETS, values: { requests: 1, ...errors }, dimensions: { ...optional('provider', providerDimension(fields)) } };
    case 'store_unavailable':
      return { sets: STORE_SETS, values: { storeFailures: 1 }, dimensions: {} };
    default:
      return undefined;
  }
}

/**
 * The Provider dimension: an operator's account by its name (the config bounds them), a project's
 * own account as `byok:<kind>` (see `accountLogFields`): one series per kind, however many
 * accounts projects add.
 */
function providerDimension(fields: LogFields): string | undefined {
  const byok = stringField(fields, 'byok_kind');
  return byok === undefined ? stringField(fields, 'provider') : `byok:${byok}`;
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

function numberField(fields: LogFields, name: string): number | undefined {
  const value = fields[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function stringField(fields: LogFields, name: string): string | undefined {
  const value = fields[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
