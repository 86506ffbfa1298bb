import { CfnOutput, Duration, RemovalPolicy, SecretValue, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { AccountRootPrincipal, Effect, PolicyDocument, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { DEFAULT_METRICS_NAMESPACE } from '../lambda/observability/catalog';
import { DEFAULT_FRONT_READ_TIMEOUT, TollgateFront } from './front';
import { TollgateMonitoring } from './monitoring';
import { acknowledge } from './nag';
import { PriceRefresh } from './price-refresh';
import { Reconciler } from './reconciler';
import { TollgateProxy, type GatewayConfigJson, type TollgateProxyProps } from './proxy';

/**
 * What the account may do to the secrets key outside Secrets Manager: administer it, never use it.
 * No `kms:CreateGrant` (a grant could hand out Decrypt) and no Encrypt/Decrypt/GenerateDataKey.
 * `kms:PutKeyPolicy` stays, so the key can never be locked out of its own account.
 */
export const KEY_ADMIN_ACTIONS = [
  'kms:CancelKeyDeletion',
  'kms:CreateAlias',
  'kms:DeleteAlias',
  'kms:DescribeKey',
  'kms:DisableKey',
  'kms:DisableKeyRotation',
  'kms:EnableKey',
  'kms:EnableKeyRotation',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:ListAliases',
  'kms:ListGrants',
  'kms:ListKeyPolicies',
  'kms:ListResourceTags',
  'kms:PutKeyPolicy',
  'kms:RevokeGrant',
  'kms:RotateKeyOnDemand',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateAlias',
  'kms:UpdateKeyDescription',
] as const;

/** Options for {@link TollgateStack}. */
export interface TollgateStackProps extends StackProps {
  /**
   * How many days back point-in-time recovery can restore the tables (1–35).
   *
   * @default 35 - the DynamoDB maximum, so a bad key rotation or spend reset can be undone weeks later.
   */
  readonly recoveryPeriodInDays?: number;
  /**
   * Point-in-time recovery on the keys and spend tables ($0.20 per GB-month in us-east-1: cents for
   * a gateway's tables). Off, a bad key rotation or spend reset cannot be undone.
   *
   * @default true
   */
  readonly pointInTimeRecovery?: boolean;
  /**
   * Whether the keys and spend tables outlive the stack: kept on `cdk destroy` and when a change
   * would replace them, with deletion protection against a console click or a script — and the
   * secrets key with them, which projects' own (BYOK) secrets need, and the functions' logs until
   * their retention ends. `false` is for a throwaway stage: they are deleted with the stack, keys
   * and spend history with them.
   *
   * @default true
   */
  readonly retainTables?: boolean;
  /**
   * CloudFormation refuses to delete a protected stack (`cdk destroy` fails until it is turned off).
   *
   * @default retainTables - a stage whose data is kept is protected; a throwaway one is not
   */
  readonly terminationProtection?: boolean;
  /**
   * The gateway config (the `tollgate.config.json` shape: providers, custom prices, limits).
   * Providers it gives no credential read theirs from the stack's provider secret.
   *
   * @default every provider at its real API, credentials from the provider secret
   */
  readonly gatewayConfig?: GatewayConfigJson;
  /** See {@link TollgateProxyProps.memorySize}. @default 512 */
  readonly proxyMemorySize?: number;
  /**
   * Concurrent executions reserved for the proxy: a guarantee and a ceiling (see
   * {@link TollgateProxyProps.reservedConcurrency}). `'unreserved'` shares the account's pool.
   *
   * @default 100
   */
  readonly proxyReservedConcurrency?: number | 'unreserved';
  /** See {@link TollgateProxyProps.spendShards}. @default 1 */
  readonly spendShards?: number;
  /** @default Duration.hours(1) */
  readonly priceRefreshInterval?: Duration;
  /** @default genai-prices' data.json on GitHub */
  readonly pricesUrl?: string;
  /** @default Duration.days(2) */
  readonly maxPriceAge?: Duration;
  /** @default 5 */
  readonly serverErrorRatePercent?: number;
  /** @default - alarms go to the stack's SNS topic with no subscriber */
  readonly alarmEmail?: string;
  /**
   * Two stacks in one account and region need different namespaces, or their metrics mix.
   *
   * @default 'Tollgate'
   */
  readonly metricsNamespace?: string;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * A CloudFront distribution with a WAF web ACL in front of the function URL (see
   * {@link TollgateFront}); the web ACL comes from a `TollgateEdgeStack` in us-east-1. The proxy
   * then refuses requests that did not come through it.
   *
   * @default - no front: clients call the function URL
   */
  readonly front?: { readonly webAclArn: string; readonly originReadTimeout?: Duration };
}

/**
 * A self-contained regional tollgate: the streaming proxy on a function URL, its DynamoDB tables,
 * provider credentials in Secrets Manager under a KMS key, the scheduled price refresh and
 * reservation reconciler, and the region's dashboard and alarms. Keys live in the region whose
 * tables hold them.
 *
 * @example
 * new TollgateStack(app, 'Tollgate-eu-west-1', { env: { region: 'eu-west-1' }, alarmEmail: 'ops@example.com' });
 */
export class TollgateStack extends Stack {
  /** Key records (hashes, never the keys themselves), looked up by partition key `pk`. */
  readonly keysTable: Table;

  /**
   * Spend counters: `pk` is the scope and `sk` the period, so every period of one scope is a single Query.
   * Rate counters and reservations carry `expiresAt` (epoch seconds) and expire through TTL.
   */
  readonly spendTable: Table;

  /** The last good copy of genai-prices' data: one item, refetchable, so no backups. */
  readonly pricesTable: Table;

  /** Provider credentials: one JSON object, a field per provider id. */
  readonly providerSecret: Secret;
  readonly secretsKey: Key;
  readonly proxy: TollgateProxy;
  readonly priceRefresh: PriceRefresh;
  readonly reconciler: Reconciler;
  readonly monitoring: TollgateMonitoring;
  /** Present with {@link TollgateStackProps.front}. */
  readonly front: TollgateFront | undefined;

  constructor(scope: Construct, id: string, props: TollgateStackProps = {}) {
    // Deleting the stack deletes the function URL, which every client is configured with (a new
    // one has another address): a production stage, whose tables are kept, is protected from it.
    super(scope, id, { ...props, terminationProtection: props.terminationProtection ?? props.retainTables ?? true });

    const pointInTimeRecovery = props.pointInTimeRecovery ?? true;
    if (!pointInTimeRecovery && props.recoveryPeriodInDays !== undefined) {
      throw new Error(`TollgateStack recoveryPeriodInDays (${props.recoveryPeriodInDays}) needs point-in-time recovery, which pointInTimeRecovery: false turns off: drop one of them`);
    }
    const pointInTimeRecoverySpecification = pointInTimeRecovery
      ? { pointInTimeRecoveryEnabled: true, recoveryPeriodInDays: props.recoveryPeriodInDays }
      : { pointInTimeRecoveryEnabled: false };
    const retainTables = props.retainTables ?? true;
    const durable = { deletionProtection: retainTables, removalPolicy: retainTables ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY };
    const metricsNamespace = props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE;

    // Names are generated (and published as outputs) so several stages can share one account and region.
    // On-demand billing because gateway traffic is bursty and idle stages should cost nothing.
    // RETAIN (explicit, not just the default) because losing keys and spend history on a stack delete
    // is unrecoverable; deletion protection because the same is true of a console click or a script
    // (both unless the operator says the stage is throwaway: retainTables: false).
    this.keysTable = new Table(this, 'KeysTable', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification,
      ...durable,
    });

    this.spendTable = new Table(this, 'SpendTable', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification,
      timeToLiveAttribute: 'expiresAt',
      ...durable,
    });

    this.pricesTable = new Table(this, 'PricesTable', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // A customer-managed key whose policy replaces KMS's default (`kms:*` for the account): the
    // account keeps administering it through IAM, but may use it only through Secrets Manager in
    // this region (the statements the secret adds), so nobody decrypts a credential with the key
    // directly, and a grant cannot hand that right to someone else (no kms:CreateGrant here).
    this.secretsKey = new Key(this, 'SecretsKey', {
      description: `tollgate ${this.stackName}: provider credentials`,
      policy: new PolicyDocument({
        statements: [new PolicyStatement({ sid: 'AdministerThroughIam', effect: Effect.ALLOW, principals: [new AccountRootPrincipal()], actions: [...KEY_ADMIN_ACTIONS], resources: ['*'] })],
      }),
      enableKeyRotation: true,
      // Kept with the tables: projects' own credentials (BYOK secrets, which the CLI makes outside
      // the stack and the kept keys table names) are encrypted with it, and are unreadable for good
      // once it is deleted. A throwaway stage's is scheduled for deletion with the stack.
      removalPolicy: retainTables ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    this.providerSecret = new Secret(this, 'ProviderSecret', {
      description: `tollgate ${this.stackName}: provider credentials, one JSON field per provider id, e.g. {"openai": "sk-..."}`,
      encryptionKey: this.secretsKey,
      // No credential here: the operator puts them in after deploying, so none is ever in a template.
      secretStringValue: SecretValue.unsafePlainText('{}'),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    acknowledge(this.providerSecret, {
      SMG4: 'Provider API keys are issued by the providers, which Secrets Manager cannot rotate; a new value put here is in use within 5 minutes (docs/deploy.md, step 4).',
    });
    if (!pointInTimeRecovery) {
      for (const table of [this.keysTable, this.spendTable]) acknowledge(table, { DDB3: 'The operator turned point-in-time recovery off (pointInTimeRecovery: false).' });
    }
    acknowledge(this.pricesTable, { DDB3: 'One item the refresher fetches again every hour: point-in-time recovery would back up refetchable data.' });

    this.priceRefresh = new PriceRefresh(this, 'PriceRefresh', {
      pricesTable: this.pricesTable,
      metricsNamespace,
      ...(props.priceRefreshInterval && { interval: props.priceRefreshInterval }),
      ...(props.pricesUrl && { url: props.pricesUrl }),
      ...(props.logRetention && { logRetention: props.logRetention }),
    });

    // Generated at deploy time, never in a template: CloudFront and the proxy each read it by ARN.
    // Letters and digits only, so it is a valid header value as it is.
    const originSecret = props.front
      ? new Secret(this, 'OriginSecret', {
          description: `tollgate ${this.stackName}: the header value CloudFront sends, so the proxy can refuse requests that bypass it`,
          encryptionKey: this.secretsKey,
          generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
          removalPolicy: RemovalPolicy.DESTROY,
        })
      : undefined;
    if (originSecret) {
      acknowledge(originSecret, {
        SMG4: 'A value CloudFront and the proxy share: CloudFront takes a new one only on a deploy, so a rotation in between would refuse every request. Replace it with a redeploy (docs/deploy.md, The front door).',
      });
    }

    this.proxy = new TollgateProxy(this, 'Proxy', {
      keysTable: this.keysTable,
      spendTable: this.spendTable,
      pricesTable: this.pricesTable,
      providerSecret: this.providerSecret,
      secretsKey: this.secretsKey,
      metricsNamespace,
      ...(props.gatewayConfig && { gatewayConfig: props.gatewayConfig }),
      ...(props.proxyMemorySize !== undefined && { memorySize: props.proxyMemorySize }),
      ...(props.proxyReservedConcurrency !== undefined && { reservedConcurrency: props.proxyReservedConcurrency }),
      ...(props.spendShards !== undefined && { spendShards: props.spendShards }),
      ...(originSecret && { originSecret, frontReadTimeout: props.front?.originReadTimeout ?? DEFAULT_FRONT_READ_TIMEOUT }),
      ...(props.logRetention && { logRetention: props.logRetention }),
    });

    this.front =
      props.front && originSecret
        ? new TollgateFront(this, 'Front', {
            functionUrl: this.proxy.url,
            originSecret,
            webAclArn: props.front.webAclArn,
            ...(props.front.originReadTimeout && { originReadTimeout: props.front.originReadTimeout }),
          })
        : undefined;

    this.reconciler = new Reconciler(this, 'Reconciler', {
      keysTable: this.keysTable,
      spendTable: this.spendTable,
      metricsNamespace,
      ...(props.logRetention && { logRetention: props.logRetention }),
    });

    // The logs hold each request's spend line and each reconciled reservation: kept with the tables,
    // they outlive the stack until their retention ends (and cost nothing after that).
    for (const fn of [this.proxy.function, this.priceRefresh.function, this.reconciler.function]) fn.logGroup.applyRemovalPolicy(durable.removalPolicy);

    this.monitoring = new TollgateMonitoring(this, 'Monitoring', {
      metricsNamespace,
      proxyFunction: this.proxy.function,
      proxyTimeout: this.proxy.timeout,
      ...(this.proxy.reservedConcurrency !== undefined && { proxyReservedConcurrency: this.proxy.reservedConcurrency }),
      keysTable: this.keysTable,
      spendTable: this.spendTable,
      reconcilerFunction: this.reconciler.function,
      reconcilerInterval: this.reconciler.interval,
      priceRefreshFunction: this.priceRefresh.function,
      priceRefreshInterval: this.priceRefresh.interval,
      ...(props.maxPriceAge && { maxPriceAge: props.maxPriceAge }),
      ...(props.serverErrorRatePercent !== undefined && { serverErrorRatePercent: props.serverErrorRatePercent }),
      ...(props.alarmEmail && { alarmEmail: props.alarmEmail }),
    });

    if (this.front) {
      new CfnOutput(this, 'FrontUrl', { value: `https://${this.front.distribution.distributionDomainName}/`, description: 'Gateway base URL: point SDKs at <this>proxy/<route>' });
      new CfnOutput(this, 'FunctionUrl', { value: this.proxy.url.url, description: 'The function URL behind the front: it refuses requests that bypass CloudFront' });
    } else {
      new CfnOutput(this, 'FunctionUrl', { value: this.proxy.url.url, description: 'Gateway base URL: point SDKs at <this>proxy/<route>' });
    }
    new CfnOutput(this, 'KeysTableName', { value: this.keysTable.tableName });
    new CfnOutput(this, 'SpendTableName', { value: this.spendTable.tableName });
    new CfnOutput(this, 'PricesTableName', { value: this.pricesTable.tableName });
    new CfnOutput(this, 'ProviderSecretArn', { value: this.providerSecret.secretArn, description: 'Put provider credentials here (JSON, a field per provider id)' });
    new CfnOutput(this, 'SecretsKeyArn', { value: this.secretsKey.keyArn, description: 'Encrypt bring-your-own provider secrets with this key' });
    new CfnOutput(this, 'PriceRefreshFunctionName', { value: this.priceRefresh.function.functionName, description: 'Invoke to refresh prices now' });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn, description: 'Subscribe to receive alarms' });
  }
}
