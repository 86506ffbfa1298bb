import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { LAMBDA_ENV } from '../lambda/handlers/env';
import { DEFAULT_METRICS_NAMESPACE } from '../lambda/observability/catalog';
import { DEFAULT_PRICES_URL } from '../lambda/prices/refresh';
import { scheduledFunction } from './lambda-defaults';

/** The refresher reads the stored copy's metadata, replaces it, or confirms it. */
export const PRICE_REFRESH_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'] as const;

export interface PriceRefreshProps {
  readonly pricesTable: ITable;
  /**
   * How often to fetch genai-prices' data. Running proxies pick a new copy up within their own
   * re-check interval after that.
   *
   * @default Duration.hours(1)
   */
  readonly interval?: Duration;
  /** @default genai-prices' data.json on GitHub */
  readonly url?: string;
  /** @default 'Tollgate' */
  readonly metricsNamespace?: string;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/**
 * A small function on an EventBridge schedule that fetches genai-prices' data, validates it and
 * stores it as the last good copy, publishing `PriceRefreshFailures` and `PriceDataAgeHours`.
 * Its only permissions: the prices table, and its own logs and traces.
 *
 * @example
 * const refresh = new PriceRefresh(this, 'PriceRefresh', { pricesTable, interval: Duration.hours(6) });
 */
export class PriceRefresh extends Construct {
  readonly function: NodejsFunction;
  readonly rule: Rule;
  readonly interval: Duration;

  constructor(scope: Construct, id: string, props: PriceRefreshProps) {
    super(scope, id);
    this.interval = props.interval ?? Duration.hours(1);
    const minutes = this.interval.toMinutes({ integral: false });
    if (!Number.isInteger(minutes) || minutes < 5 || minutes > 8 * 60) {
      throw new Error(`PriceRefresh interval must be a whole number of minutes from 5 minutes to 8 hours, got ${this.interval.toHumanString()}`);
    }
    const url = props.url ?? DEFAULT_PRICES_URL;
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new Error(`PriceRefresh url must be an http(s) URL, got "${url}"`);

    this.function = scheduledFunction(this, {
      entry: 'price-refresh',
      description: "tollgate: fetches, checks and stores genai-prices' price data",
      interval: this.interval,
      logRetention: props.logRetention,
      environment: {
        [LAMBDA_ENV.pricesTable]: props.pricesTable.tableName,
        [LAMBDA_ENV.pricesUrl]: url,
        [LAMBDA_ENV.metricsNamespace]: props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE,
      },
    });
    this.function.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: [...PRICE_REFRESH_TABLE_ACTIONS], resources: [props.pricesTable.tableArn] }));
    this.rule = new Rule(this, 'Schedule', {
      description: 'tollgate: refresh genai-prices data',
      schedule: Schedule.rate(this.interval),
      targets: [new LambdaFunction(this.function, { retryAttempts: 0 })],
    });
  }
}
