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
import { scheduledFunction } from './lambda-defaults';

/** Finding expired reservations (Query) and settling them (conditional Delete, counter Updates). */
export const RECONCILER_TABLE_ACTIONS = ['dynamodb:Query', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'] as const;

export interface ReconcilerProps {
  readonly keysTable: ITable;
  readonly spendTable: ITable;
  /** @default Duration.minutes(5) */
  readonly interval?: Duration;
  /** @default 'Tollgate' */
  readonly metricsNamespace?: string;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/**
 * Settles, at their estimate, reservations a proxy never settled (its invocation timed out or
 * crashed), so a hold on a budget cannot outlive its request. It may touch only the spend table.
 *
 * @example
 * new Reconciler(this, 'Reconciler', { keysTable, spendTable });
 */
export class Reconciler extends Construct {
  readonly function: NodejsFunction;
  readonly rule: Rule;
  readonly interval: Duration;

  constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    const interval = props.interval ?? Duration.minutes(5);
    this.interval = interval;
    const minutes = interval.toMinutes({ integral: false });
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 60) {
      throw new Error(`Reconciler interval must be a whole number of minutes from 1 to 60, got ${interval.toHumanString()}`);
    }
    this.function = scheduledFunction(this, {
      entry: 'reconcile',
      description: 'tollgate: settles reservations whose request never settled them',
      interval: interval,
      logRetention: props.logRetention,
      environment: {
        [LAMBDA_ENV.keysTable]: props.keysTable.tableName,
        [LAMBDA_ENV.spendTable]: props.spendTable.tableName,
        [LAMBDA_ENV.metricsNamespace]: props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE,
      },
    });
    this.function.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: [...RECONCILER_TABLE_ACTIONS], resources: [props.spendTable.tableArn] }));
    this.rule = new Rule(this, 'Schedule', {
      description: 'tollgate: settle expired reservations',
      schedule: Schedule.rate(interval),
      targets: [new LambdaFunction(this.function, { retryAttempts: 0 })],
    });
  }
}
