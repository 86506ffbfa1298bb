import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';

/** Options for {@link TollgateStack}. */
export interface TollgateStackProps extends StackProps {
  /**
   * How many days back point-in-time recovery can restore the tables (1–35).
   *
   * @default 35 - the DynamoDB maximum, so a bad key rotation or spend reset can be undone weeks later.
   */
  readonly recoveryPeriodInDays?: number;
}

/** Regional Tollgate deployment: the state every gateway instance in the region shares. */
export class TollgateStack extends Stack {
  /** Key records (hashes, never the keys themselves), looked up by partition key `pk`. */
  readonly keysTable: Table;

  /**
   * Spend counters: `pk` is the scope and `sk` the period, so every period of one scope is a single Query.
   */
  readonly spendTable: Table;

  constructor(scope: Construct, id: string, props: TollgateStackProps = {}) {
    super(scope, id, props);

    const pointInTimeRecoverySpecification = {
      pointInTimeRecoveryEnabled: true,
      recoveryPeriodInDays: props.recoveryPeriodInDays,
    };

    // Names are generated (and published as outputs) so several stages can share one account and region.
    // On-demand billing because gateway traffic is bursty and idle stages should cost nothing.
    // RETAIN (explicit, not just the default) because losing keys and spend history on a stack delete is unrecoverable.
    this.keysTable = new Table(this, 'KeysTable', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.spendTable = new Table(this, 'SpendTable', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // The gateway is configured with these generated names after deployment.
    new CfnOutput(this, 'KeysTableName', { value: this.keysTable.tableName });
    new CfnOutput(this, 'SpendTableName', { value: this.spendTable.tableName });
  }
}
