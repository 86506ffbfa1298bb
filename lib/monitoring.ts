import { Duration, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import {
  Alarm,
  AlarmStatusWidget,
  type AlarmProps,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  HorizontalAnnotation,
  MathExpression,
  Metric,
  SingleValueWidget,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { SETTLE_MARGIN_MS } from '../lambda/handlers/env';
import { DEFAULT_METRICS_NAMESPACE, metricRef, type MetricOf } from '../lambda/observability/catalog';
import { PROXY_TABLE_ACTIONS } from './proxy';
import { RECONCILER_TABLE_ACTIONS } from './reconciler';

/** The DynamoDB operations the functions call on each table: the ones whose `SystemErrors` are watched. */
export const WATCHED_TABLE_OPERATIONS = {
  keys: operations(PROXY_TABLE_ACTIONS.keys),
  spend: operations([...PROXY_TABLE_ACTIONS.spend, ...RECONCILER_TABLE_ACTIONS]),
} as const;

function operations(actions: readonly string[]): string[] {
  return [...new Set(actions.map((action) => action.replace(/^dynamodb:/, '')))];
}

export interface TollgateMonitoringProps {
  /** The gateway function: its native Lambda and function URL metrics are watched too. */
  readonly proxyFunction: IFunction;
  /** The proxy's timeout: an invocation that runs into it is alarmed on. */
  readonly proxyTimeout: Duration;
  /** @default - none reserved: no concurrency alarm */
  readonly proxyReservedConcurrency?: number;
  /** Tables whose throttled reads and writes are alarmed on: a throttled claim is a 5xx, a throttled settlement under-counts spend. */
  readonly keysTable: ITable;
  readonly spendTable: ITable;
  /** The reservation reconciler and how often it runs: failed runs, and no runs at all, are alarmed on. */
  readonly reconcilerFunction: IFunction;
  readonly reconcilerInterval: Duration;
  /** The price refresher: repeated failed runs are alarmed on (long before prices go stale). */
  readonly priceRefreshFunction: IFunction;
  /** @default 'Tollgate' - must match the functions' namespace */
  readonly metricsNamespace?: string;
  /** How often prices are refreshed: the stale-prices alarm looks at windows three times as long. */
  readonly priceRefreshInterval: Duration;
  /**
   * Price data not confirmed against genai-prices for this long raises the stale-prices alarm.
   *
   * @default Duration.days(2)
   */
  readonly maxPriceAge?: Duration;
  /**
   * The share of requests answered with a 5xx (over 5 minutes, with at least 10 requests) that
   * raises the 5xx alarm.
   *
   * @default 5
   */
  readonly serverErrorRatePercent?: number;
  /** Sent every alarm and its recovery. @default - no subscription; subscribe to the topic yourself */
  readonly alarmEmail?: string;
  /**
   * CloudWatch dashboards are global to the account, so each region's needs its own name.
   *
   * @default the stack name
   */
  readonly dashboardName?: string;
}

type TotalMetric = MetricOf<'total'>;

/** When an alarm fires: its metric above, at least, or below the threshold. */
type AlarmCondition = { readonly above: number } | { readonly atLeast: number } | { readonly below: number };

function conditionProps(when: AlarmCondition): Pick<AlarmProps, 'threshold' | 'comparisonOperator'> {
  if ('above' in when) return { threshold: when.above, comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD };
  if ('atLeast' in when) return { threshold: when.atLeast, comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD };
  return { threshold: when.below, comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD };
}

/**
 * One dashboard per region — cost by project and by model, request rate, error rate, p50/p99
 * latency, tokens, price freshness, and the platform beneath them — and alarms on an SNS topic.
 * Two kinds of alarm: on what the gateway itself reports (5xx rate, spend-write failures,
 * impossible usage, stale prices; named through `lambda/observability/catalog.ts`, the module the
 * EMF logger emits from), and on what AWS reports about it, which sees the failures the gateway
 * cannot log — a crashed or throttled invocation, a function URL 5xx, a throttled table, a
 * scheduled function that failed or never ran.
 *
 * @example
 * new TollgateMonitoring(this, 'Monitoring', { priceRefreshInterval: Duration.hours(1), alarmEmail: 'ops@example.com' });
 */
export class TollgateMonitoring extends Construct {
  readonly dashboard: Dashboard;
  readonly topic: Topic;
  readonly serverErrorAlarm: Alarm;
  readonly spendWriteAlarm: Alarm;
  /** Any operation of the spend store failed (`store_unavailable`): a request refused 503, or a spend write left to the reconciler. */
  readonly storeFailureAlarm: Alarm;
  readonly usageClampedAlarm: Alarm;
  readonly stalePricesAlarm: Alarm;
  readonly proxyErrorAlarm: Alarm;
  readonly proxyThrottleAlarm: Alarm;
  readonly proxyTimeoutAlarm: Alarm;
  /** Only with reserved concurrency: the gateway nearing the ceiling it was given. */
  readonly proxyConcurrencyAlarm: Alarm | undefined;
  readonly functionUrlErrorAlarm: Alarm;
  readonly keysTableThrottleAlarm: Alarm;
  readonly spendTableThrottleAlarm: Alarm;
  /** DynamoDB answering the functions' operations on the keys or spend table with 500s (its side, not ours). */
  readonly tableSystemErrorAlarm: Alarm;
  readonly reconcilerFailureAlarm: Alarm;
  readonly reconcilerStoppedAlarm: Alarm;
  readonly priceRefreshFailureAlarm: Alarm;
  /** Every alarm above, for the dashboard's status widget. */
  readonly alarms: readonly Alarm[];

  constructor(scope: Construct, id: string, props: TollgateMonitoringProps) {
    super(scope, id);
    const namespace = props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE;
    const errorRate = props.serverErrorRatePercent ?? 5;
    if (!(errorRate > 0 && errorRate <= 100)) throw new Error(`TollgateMonitoring serverErrorRatePercent must be above 0 and at most 100, got ${errorRate}`);
    const maxAge = props.maxPriceAge ?? Duration.days(2);
    const refreshHours = props.priceRefreshInterval.toMinutes({ integral: false }) / 60;
    const maxAgeHours = maxAge.toMinutes({ integral: false }) / 60;
    if (maxAgeHours < 2 * refreshHours || maxAgeHours > 30 * 24) {
      throw new Error(
        `TollgateMonitoring maxPriceAge must be at least twice the price refresh interval (${props.priceRefreshInterval.toHumanString()}) ` +
          `and at most 30 days, got ${maxAge.toHumanString()}`,
      );
    }
    if (props.alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.alarmEmail)) {
      throw new Error(`TollgateMonitoring alarmEmail must be an email address, got "${props.alarmEmail}"`);
    }

    const total = (metric: TotalMetric, statistic: string, period: Duration, label?: string): Metric => {
      const ref = metricRef('total', metric);
      return new Metric({ namespace, metricName: ref.metricName, statistic, period, ...(label && { label }) });
    };
    const prices = (metric: MetricOf<'prices'>, statistic: string, period: Duration, label?: string): Metric =>
      new Metric({ namespace, metricName: metricRef('prices', metric).metricName, statistic, period, ...(label && { label }) });
    /** Every series of a dimensioned metric, whatever its dimension values, one line each. */
    const search = (ref: ReturnType<typeof metricRef>, statistic: string, period: Duration, label: string): MathExpression =>
      new MathExpression({
        expression: `SEARCH('{"${namespace}",${ref.dimensions.join(',')}} MetricName="${ref.metricName}"', '${statistic}', ${period.toSeconds()})`,
        label,
        period,
        usingMetrics: {},
      });
    const minute = Duration.minutes(1);
    const hour = Duration.hours(1);
    const fiveMinutes = Duration.minutes(5);

    const errorRateOf = (errors: TotalMetric, period: Duration, label: string) =>
      new MathExpression({
        // Ids are per graph: each error metric keeps its own name so two rates can share one graph.
        expression: `IF(requests > 0, 100 * ${errors} / requests, 0)`,
        usingMetrics: { requests: total('requests', 'Sum', period), [errors]: total(errors, 'Sum', period) },
        period,
        label,
      });

    // Alarms
    this.topic = new Topic(this, 'AlarmTopic', { displayName: `tollgate alarms (${Stack.of(this).stackName})`, enforceSSL: true });
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    const notifyTopic = new SnsAction(this.topic);
    /**
     * An alarm on the topic, for its state and its recovery. Every alarm here looks at one period
     * and treats missing data as all clear unless `options` say otherwise: a quiet gateway is a
     * healthy one.
     */
    const alarm = (id: string, alarmDescription: string, metric: IMetric, when: AlarmCondition, options: Partial<AlarmProps> = {}): Alarm => {
      const created = new Alarm(this, id, {
        alarmDescription,
        metric,
        ...conditionProps(when),
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        ...options,
      });
      created.addAlarmAction(notifyTopic);
      created.addOkAction(notifyTopic);
      return created;
    };
    this.serverErrorAlarm = alarm(
      'ServerErrorRate',
      `More than ${errorRate}% of gateway requests answered with a 5xx over 5 minutes (with at least 10 requests). See the dashboard's error rate and the proxy's logs (event request_rejected / request_settled with status >= 500).`,
      new MathExpression({
        expression: 'IF(requests >= 10, 100 * errors / requests, 0)',
        usingMetrics: { requests: total('requests', 'Sum', fiveMinutes), errors: total('serverErrors', 'Sum', fiveMinutes) },
        period: fiveMinutes,
        label: '5xx rate (%)',
      }),
      { above: errorRate },
    );
    this.spendWriteAlarm = alarm(
      'SpendWriteFailures',
      'The gateway served requests whose spend it could not record in DynamoDB (event spend_write_failed in the proxy logs): spend totals and caps are under-counting.',
      total('spendWriteFailures', 'Sum', fiveMinutes),
      { atLeast: 1 },
    );
    this.storeFailureAlarm = alarm(
      'StoreFailures',
      'The gateway could not reach its spend store (event store_unavailable in the proxy logs, with the operation and the error): requests are answered 503 and nothing is forwarded, or a served request\'s spend is left to the reconciler. Check the keys and spend tables (throttles, errors) and the function\'s DynamoDB permissions.',
      new Metric({ namespace, metricName: metricRef('store', 'storeFailures').metricName, statistic: 'Sum', period: fiveMinutes }),
      { atLeast: 1 },
    );
    this.usageClampedAlarm = alarm(
      'ImpossibleUsage',
      'A provider reported more output tokens than a request allowed (event usage_clamped in the proxy logs): the gateway charged the request at its bound, but the upstream or its usage reporting is faulty, and the provider may bill more than tollgate recorded.',
      total('usageClamped', 'Sum', fiveMinutes),
      { atLeast: 1 },
    );
    // Each window holds at least one refresh; no data at all (the refresher not running, or no
    // copy ever stored) counts as stale.
    const window = Duration.minutes(Math.max(60, Math.ceil(3 * refreshHours * 60)));
    this.stalePricesAlarm = alarm(
      'StalePrices',
      `The stored genai-prices data has not been confirmed for over ${maxAge.toHumanString()} (or the refresher is not running): new models may be refused as unpriced. See the PriceRefresh function's logs (event price_refresh).`,
      prices('priceDataAge', 'Maximum', window),
      { above: maxAgeHours },
      { treatMissingData: TreatMissingData.BREACHING },
    );

    // Platform alarms: AWS's own metrics, for failures no log line of the gateway reports.
    const proxy = props.proxyFunction;
    const rateOf = (numerator: IMetric, denominator: IMetric, label: string) =>
      new MathExpression({
        expression: 'IF(total >= 10, 100 * failed / total, 0)',
        usingMetrics: { failed: numerator, total: denominator },
        period: fiveMinutes,
        label,
      });
    this.proxyErrorAlarm = alarm(
      'ProxyErrorRate',
      `More than ${errorRate}% of the proxy's invocations failed over 5 minutes (Lambda's Errors metric: crashes, init failures, timeouts, and streams the upstream broke off). ` +
        "Compare with the 5xx alarm: errors here without 5xx there are failures the gateway could not log. See the proxy function's logs.",
      rateOf(proxy.metricErrors({ period: fiveMinutes, statistic: 'Sum' }), proxy.metricInvocations({ period: fiveMinutes, statistic: 'Sum' }), 'invocation error rate (%)'),
      { above: errorRate },
    );
    this.proxyThrottleAlarm = alarm(
      'ProxyThrottles',
      'Lambda refused proxy invocations for lack of concurrency (clients got 429 from the function URL): the gateway is at its reserved concurrency or the account at its quota. ' +
        'Raise the reservation (-c proxyConcurrency) or the account quota, or look for a flood (see docs/deploy.md, Quotas).',
      proxy.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
      { atLeast: 1 },
    );
    const nearTimeoutMs = props.proxyTimeout.toMilliseconds() - SETTLE_MARGIN_MS;
    this.proxyTimeoutAlarm = alarm(
      'ProxyNearTimeout',
      `A proxy invocation ran into its deadline (${nearTimeoutMs / 1000} s, ${SETTLE_MARGIN_MS / 1000} s before the ${props.proxyTimeout.toSeconds()} s timeout): ` +
        'its upstream call was stopped and its stream cut. Either a provider hangs, or requests need longer than a function URL allows.',
      proxy.metricDuration({ period: fiveMinutes, statistic: 'Maximum' }),
      { atLeast: nearTimeoutMs },
    );
    const reserved = props.proxyReservedConcurrency;
    this.proxyConcurrencyAlarm =
      reserved === undefined
        ? undefined
        : alarm(
            'ProxyConcurrency',
            `The proxy used over 80% of its ${reserved} reserved concurrent executions: past 100%, new requests are throttled (429).`,
            proxy.metric('ConcurrentExecutions', { period: minute, statistic: 'Maximum' }),
            { above: Math.floor(reserved * 0.8) },
            { evaluationPeriods: 3, datapointsToAlarm: 2 },
          );
    this.functionUrlErrorAlarm = alarm(
      'FunctionUrlServerErrorRate',
      `More than ${errorRate}% of function URL requests got a 5xx from Lambda itself over 5 minutes (the function crashed or failed to start before it could answer).`,
      rateOf(proxy.metric('Url5xxCount', { period: fiveMinutes, statistic: 'Sum' }), proxy.metric('UrlRequestCount', { period: fiveMinutes, statistic: 'Sum' }), 'function URL 5xx rate (%)'),
      { above: errorRate },
    );
    /** Ids are per graph: `name` keeps two tables' series apart on one. */
    const throttled = (table: ITable, name: string, label = 'throttled reads + writes') =>
      new MathExpression({
        expression: `FILL(${name}Reads, 0) + FILL(${name}Writes, 0)`,
        usingMetrics: {
          [`${name}Reads`]: table.metric('ReadThrottleEvents', { period: fiveMinutes, statistic: 'Sum' }),
          [`${name}Writes`]: table.metric('WriteThrottleEvents', { period: fiveMinutes, statistic: 'Sum' }),
        },
        period: fiveMinutes,
        label,
      });
    this.keysTableThrottleAlarm = alarm(
      'KeysTableThrottles',
      'DynamoDB throttled reads or writes on the keys table: requests whose key could not be read were answered 5xx.',
      throttled(props.keysTable, 'keys'),
      { atLeast: 1 },
    );
    this.spendTableThrottleAlarm = alarm(
      'SpendTableThrottles',
      'DynamoDB throttled reads or writes on the spend table: throttled claims are answered 5xx, and a settlement throttled past its retries under-counts spend (see SpendWriteFailures). ' +
        'One scope past its partition\'s write rate is the usual cause: see docs/limits.md, Counter layout.',
      throttled(props.spendTable, 'spend'),
      { atLeast: 1 },
    );
    // One alarm over both tables (at most 10 metrics fit one): which table and operation is on the dashboard.
    const systemErrorMetrics: Record<string, IMetric> = {};
    for (const [name, table] of [['keys', props.keysTable], ['spend', props.spendTable]] as const) {
      for (const operation of WATCHED_TABLE_OPERATIONS[name]) {
        systemErrorMetrics[`${name}${operation}`] = table.metric('SystemErrors', {
          dimensionsMap: { TableName: table.tableName, Operation: operation },
          period: fiveMinutes,
          statistic: 'Sum',
        });
      }
    }
    const systemErrors = (label: string) =>
      new MathExpression({ expression: Object.keys(systemErrorMetrics).map((id) => `FILL(${id}, 0)`).join(' + '), usingMetrics: systemErrorMetrics, period: fiveMinutes, label });
    this.tableSystemErrorAlarm = alarm(
      'TableSystemErrors',
      'DynamoDB answered operations on the keys or spend table with internal errors (SystemErrors) in 2 of the last 3 five-minute periods: a problem on AWS\'s side. ' +
        'The SDK retries them; what still fails shows as StoreFailures or SpendWriteFailures. Check the AWS Health Dashboard for DynamoDB in this region.',
      systemErrors('DynamoDB system errors'),
      { atLeast: 1 },
      { evaluationPeriods: 3, datapointsToAlarm: 2 },
    );
    const runPeriod = props.reconcilerInterval;
    this.reconcilerFailureAlarm = alarm(
      'ReconcilerFailures',
      'The reservation reconciler failed in 2 of its last 3 runs: reservations of crashed or timed-out requests stay held against their caps until it succeeds. See the Reconciler function\'s logs.',
      props.reconcilerFunction.metricErrors({ period: runPeriod, statistic: 'Sum' }),
      { atLeast: 1 },
      { evaluationPeriods: 3, datapointsToAlarm: 2 },
    );
    this.reconcilerStoppedAlarm = alarm(
      'ReconcilerNotRunning',
      `The reservation reconciler has not run for 3 of its ${runPeriod.toHumanString()} intervals: its schedule is disabled or it cannot be invoked.`,
      props.reconcilerFunction.metricInvocations({ period: runPeriod, statistic: 'Sum' }),
      { below: 1 },
      { evaluationPeriods: 3, treatMissingData: TreatMissingData.BREACHING },
    );
    this.priceRefreshFailureAlarm = alarm(
      'PriceRefreshFailures',
      `The price refresh failed ${3} runs in a row (it reported a failure, or the function itself failed): the stored prices are not being confirmed, and StalePrices follows after ${maxAge.toHumanString()}. ` +
        "See the PriceRefresh function's logs (event price_refresh).",
      new MathExpression({
        expression: 'FILL(reported, 0) + FILL(crashed, 0)',
        usingMetrics: {
          reported: prices('priceRefreshFailures', 'Sum', props.priceRefreshInterval),
          crashed: props.priceRefreshFunction.metricErrors({ period: props.priceRefreshInterval, statistic: 'Sum' }),
        },
        period: props.priceRefreshInterval,
        label: 'failed refreshes',
      }),
      { atLeast: 1 },
      { evaluationPeriods: 3 },
    );
    this.alarms = [
      this.serverErrorAlarm,
      this.spendWriteAlarm,
      this.storeFailureAlarm,
      this.usageClampedAlarm,
      this.stalePricesAlarm,
      this.proxyErrorAlarm,
      this.proxyThrottleAlarm,
      this.proxyTimeoutAlarm,
      ...(this.proxyConcurrencyAlarm ? [this.proxyConcurrencyAlarm] : []),
      this.functionUrlErrorAlarm,
      this.keysTableThrottleAlarm,
      this.spendTableThrottleAlarm,
      this.tableSystemErrorAlarm,
      this.reconcilerFailureAlarm,
      this.reconcilerStoppedAlarm,
      this.priceRefreshFailureAlarm,
    ];

    // Dashboard
    const widget = { width: 12, height: 6 };
    const costByProject = metricRef('byProject', 'costUsd');
    const costByModel = metricRef('byModel', 'costUsd');
    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? Stack.of(this).stackName,
      defaultInterval: Duration.days(1),
    });
    const graph = (title: string, left: IMetric[], extra: { stacked?: boolean; leftLabel?: string; right?: IMetric[] } = {}) =>
      new GraphWidget({ ...widget, title, left, ...(extra.right && { right: extra.right }), stacked: extra.stacked ?? false, ...(extra.leftLabel && { leftYAxis: { label: extra.leftLabel, showUnits: false, min: 0 } }) });
    this.dashboard.addWidgets(
      new SingleValueWidget({
        width: 24,
        height: 4,
        title: 'Last 24 hours',
        metrics: [
          total('costUsd', 'Sum', Duration.days(1), 'Cost (USD)'),
          total('requests', 'Sum', Duration.days(1), 'Requests'),
          total('serverErrors', 'Sum', Duration.days(1), '5xx'),
          total('unpriced', 'Sum', Duration.days(1), 'Unpriced requests'),
          total('spendWriteFailures', 'Sum', Duration.days(1), 'Spend write failures'),
          total('spendOverReservation', 'Sum', Duration.days(1), 'Over their reservation'),
        ],
      }),
    );
    this.dashboard.addWidgets(
      graph('Cost by project (USD per hour)', [search(costByProject, 'Sum', hour, "${PROP('Dim.Project')}")], { stacked: true, leftLabel: 'USD' }),
      graph('Cost by model (USD per hour)', [search(costByModel, 'Sum', hour, "${PROP('Dim.Provider')} ${PROP('Dim.Model')}")], { stacked: true, leftLabel: 'USD' }),
    );
    this.dashboard.addWidgets(
      graph('Requests per minute', [total('requests', 'Sum', minute, 'all'), search(metricRef('byProvider', 'requests'), 'Sum', minute, "${PROP('Dim.Provider')}")]),
      graph('Error rate (%)', [errorRateOf('serverErrors', minute, '5xx'), errorRateOf('clientErrors', minute, '4xx')], { leftLabel: '%' }),
    );
    this.dashboard.addWidgets(
      graph('Latency, request to settled (ms)', [total('latency', 'p50', minute, 'p50'), total('latency', 'p99', minute, 'p99')], {
        right: [search(metricRef('byProvider', 'latency'), 'p99', minute, "p99 ${PROP('Dim.Provider')}")],
      }),
      graph('Tokens by model (per hour)', [
        search(metricRef('byModel', 'inputTokens'), 'Sum', hour, "in ${PROP('Dim.Model')}"),
        search(metricRef('byModel', 'outputTokens'), 'Sum', hour, "out ${PROP('Dim.Model')}"),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Requests and tokens by project (per hour)', [search(metricRef('byProject', 'requests'), 'Sum', hour, "${PROP('Dim.Project')}")], {
        right: [search(metricRef('byProject', 'inputTokens'), 'Sum', hour, "in ${PROP('Dim.Project')}"), search(metricRef('byProject', 'outputTokens'), 'Sum', hour, "out ${PROP('Dim.Project')}")],
      }),
      graph('Price data', [prices('priceDataAge', 'Maximum', hour, 'age (hours)')], { right: [prices('priceRefreshFailures', 'Sum', hour, 'failed refreshes')] }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        ...widget,
        title: 'Proxy function (per minute)',
        left: [
          proxy.metricInvocations({ period: minute, statistic: 'Sum', label: 'invocations' }),
          proxy.metricErrors({ period: minute, statistic: 'Sum', label: 'errors' }),
          proxy.metricThrottles({ period: minute, statistic: 'Sum', label: 'throttles' }),
        ],
        right: [proxy.metric('ConcurrentExecutions', { period: minute, statistic: 'Maximum', label: 'concurrent (max)' })],
        ...(reserved !== undefined && { rightAnnotations: [{ value: reserved, label: 'reserved', color: '#d62728' } satisfies HorizontalAnnotation] }),
      }),
      graph('Function URL and tables (per 5 minutes)', [
        proxy.metric('Url4xxCount', { period: fiveMinutes, statistic: 'Sum', label: 'URL 4xx' }),
        proxy.metric('Url5xxCount', { period: fiveMinutes, statistic: 'Sum', label: 'URL 5xx' }),
      ], { right: [throttled(props.keysTable, 'keys', 'keys table throttled'), throttled(props.spendTable, 'spend', 'spend table throttled'), systemErrors('tables: DynamoDB system errors')] }),
    );
    this.dashboard.addWidgets(new AlarmStatusWidget({ width: 24, height: 4, title: 'Alarms', alarms: [...this.alarms] }));
  }
}
