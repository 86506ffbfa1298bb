import { readFileSync } from 'node:fs';
import { Annotations, ArnFormat, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { FunctionUrlAuthType, InvokeMode, type FunctionUrl } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ConfigError, parseConfig, type GatewayConfig } from '../lambda/config/config';
import { DEFAULT_PRICES_RECHECK_MINUTES, DEFAULT_SECRETS_TTL_SECONDS, LAMBDA_ENV, SETTLE_MARGIN_MS } from '../lambda/handlers/env';
import { DEFAULT_METRICS_NAMESPACE } from '../lambda/observability/catalog';
import type { HeaderValue, TracingSettings } from '../lambda/observability/otel/settings';
import { HOSTED_PROVIDER_IDS, isProviderId, PROVIDERS } from '../lambda/providers';
import { bedrockSigningRegion, type BedrockOptions } from '../lambda/providers/bedrock';
import { DAY_SHARDS } from '../lambda/store/dynamodb-day-counters';
import { bundledFunctionDefaults, handlerEntry } from './lambda-defaults';
import { acknowledge, FUNCTION_ROLE_FINDINGS, wildcardResource } from './nag';

/** A gateway config in the `tollgate.config.json` shape; validated at synth time. */
export type GatewayConfigJson = { readonly [field: string]: unknown };

/**
 * Everything the proxy may do to DynamoDB, per table. Nothing else: no Scan (listing is the CLI's,
 * with the operator's credentials), no table management.
 */
export const PROXY_TABLE_ACTIONS = {
  /** Key, project and user records; UpdateItem blocks a key after an unpriceable response. */
  keys: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  /** Counters and reservations: reserve (Put + Update), settle (Delete + Update), expired reservations (Query). */
  spend: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'],
  /** The stored price copy, read only. */
  prices: ['dynamodb:GetItem'],
} as const;

/** On Bedrock the proxy may invoke models and count their tokens (the free `count-tokens` endpoint), and nothing else. */
export const BEDROCK_ACTIONS = ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream', 'bedrock:CountTokens'] as const;

/** Measured and chosen in docs/benchmarks.md (*Lambda: cold start, CPU and memory*). */
export const DEFAULT_PROXY_MEMORY_MB = 512;

/** A team's gateway: 100 streams at once, out of the 1,000 a region's account has by default. */
export const DEFAULT_RESERVED_CONCURRENCY = 100;

/** Lambda's environment holds 4 KB in all; the config shares it with the other variables. */
const MAX_CONFIG_JSON_BYTES = 3_000;

export interface TollgateProxyProps {
  readonly keysTable: ITable;
  readonly spendTable: ITable;
  readonly pricesTable: ITable;
  /** The managed secret: a JSON object with one field per provider id (`{"openai": "sk-…"}`). */
  readonly providerSecret: ISecret;
  /** The key the managed secret is encrypted with; the proxy may decrypt with it through Secrets Manager only. */
  readonly secretsKey: IKey;
  /**
   * Bring-your-own secrets: any secret whose name starts with this is readable by the proxy too
   * (a provider's credential, a tracing header's token).
   *
   * @default `tollgate/<stack name>/`
   */
  readonly secretNamePrefix?: string;
  /**
   * The gateway config (the `tollgate.config.json` shape). Providers whose credential it leaves
   * out read it from the managed secret's field named after the provider (`openai`, `anthropic`, …).
   *
   * @default every provider at its real API, credentials from the managed secret
   */
  readonly gatewayConfig?: GatewayConfigJson;
  /**
   * Memory, and with it CPU (Lambda gives one vCPU per 1,769 MB). A request's time is almost all
   * waiting on the provider, billed per MB-second, so memory is mostly cost: 512 MB is half of
   * 1,024's, for ~25 ms more CPU time per request and ~0.6 s more per cold start, with the peak
   * RSS measured (~160 MiB with a 5 MiB prompt) at a third of it. See docs/benchmarks.md, *Lambda*.
   *
   * @default 512
   */
  readonly memorySize?: number;
  /** @default Duration.minutes(15) - the most a function URL allows, so long generations are not cut off */
  readonly timeout?: Duration;
  /**
   * Concurrent executions reserved for the proxy — both a guarantee and a ceiling. Every stream
   * holds one execution environment for its whole length, on the account's regional quota that
   * every function shares: without a ceiling, a flood or a burst of long generations throttles the
   * other functions of the account; without a guarantee, they can starve the gateway. Requests
   * past it get a 429 from the function URL. `'unreserved'` shares the account's pool (an account
   * whose quota is too small to reserve from: Lambda keeps 100 unreserved).
   *
   * @default 100
   */
  readonly reservedConcurrency?: number | 'unreserved';
  /**
   * With a CloudFront front: the secret CloudFront sends in the `x-tollgate-origin` header. The
   * proxy then serves only requests that carry it.
   *
   * @default - no front: every request to the function URL is served
   */
  readonly originSecret?: ISecret;
  /**
   * With a front: how long it waits for a response to start, and between two pieces of it. The
   * upstream waits default to 5 s less, so the gateway answers and settles before the front gives up.
   *
   * @default - no front
   */
  readonly frontReadTimeout?: Duration;
  /**
   * Partition keys the spend counters of a scope without a cap are spread over (1 to 4), for a
   * project, user or key busier than one DynamoDB partition's 1,000 writes a second; see
   * docs/limits.md, *Counter layout*.
   *
   * @default 1
   */
  readonly spendShards?: number;
  /** How often a running instance looks for refreshed prices. @default 10 */
  readonly pricesRecheckMinutes?: number;
  /** @default 'Tollgate' */
  readonly metricsNamespace?: string;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/**
 * The gateway itself: the core on a streaming Lambda function URL (auth NONE — gateway keys
 * authenticate), reading keys and writing spend in DynamoDB, provider credentials from Secrets
 * Manager, with least-privilege IAM.
 *
 * @example
 * const proxy = new TollgateProxy(this, 'Proxy', { keysTable, spendTable, pricesTable, providerSecret, secretsKey });
 * new CfnOutput(this, 'Url', { value: proxy.url.url });
 */
export class TollgateProxy extends Construct {
  readonly function: NodejsFunction;
  readonly url: FunctionUrl;
  /** The config the function runs with, defaults filled in. */
  readonly gatewayConfig: GatewayConfigJson;
  readonly timeout: Duration;
  /** Undefined when the proxy shares the account's unreserved pool. */
  readonly reservedConcurrency: number | undefined;

  constructor(scope: Construct, id: string, props: TollgateProxyProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const memorySize = props.memorySize ?? DEFAULT_PROXY_MEMORY_MB;
    if (!Number.isInteger(memorySize) || memorySize < 256 || memorySize > 10_240) {
      throw new Error(`TollgateProxy memorySize must be a whole number of MB from 256 to 10240, got ${memorySize}`);
    }
    const timeout = props.timeout ?? Duration.minutes(15);
    if (timeout.toSeconds() < 60 || timeout.toSeconds() > 900) {
      throw new Error(`TollgateProxy timeout must be from 1 to 15 minutes (a function URL's limit; the last 30 s are kept to settle), got ${timeout.toHumanString()}`);
    }
    this.timeout = timeout;
    const reserved = props.reservedConcurrency ?? DEFAULT_RESERVED_CONCURRENCY;
    if (reserved !== 'unreserved' && !(Number.isInteger(reserved) && reserved >= 1)) {
      throw new Error(
        `TollgateProxy reservedConcurrency must be a whole number of concurrent executions (at least 1), or 'unreserved' to share the account's pool; got ${reserved}`,
      );
    }
    this.reservedConcurrency = reserved === 'unreserved' ? undefined : reserved;
    const recheck = props.pricesRecheckMinutes ?? DEFAULT_PRICES_RECHECK_MINUTES;
    if (!(recheck >= 1 && recheck <= 1440)) throw new Error(`TollgateProxy pricesRecheckMinutes must be from 1 to 1440, got ${recheck}`);
    const prefix = props.secretNamePrefix ?? `tollgate/${stack.stackName}/`;
    const spendShards = props.spendShards ?? 1;
    if (!Number.isInteger(spendShards) || spendShards < 1 || spendShards > DAY_SHARDS) {
      throw new Error(`TollgateProxy spendShards must be a whole number from 1 to ${DAY_SHARDS}, got ${spendShards}`);
    }

    this.gatewayConfig = withUpstreamWaitWithin(
      withRegionalBedrock(withSecretCredentials(props.gatewayConfig ?? {}, props.providerSecret.secretArn), stack.region),
      timeout,
      props.frontReadTimeout,
    );
    const validated = validateGatewayConfig(this.gatewayConfig);
    checkReservationTtl(validated.limits.reservationTtlSeconds, timeout);
    checkTracingHeadersOnLambda(this, validated.tracing, prefix);
    for (const outside of tracingSecretsOutside(validated.tracing, prefix)) {
      Annotations.of(this).addWarningV2(
        'tollgate:tracing-secret-outside-prefix',
        `gatewayConfig ${outside.where}: secret ${outside.secretId} is not under ${prefix}, the only secrets the proxy may read: its spans will not be sent. Name it ${prefix}<anything>, or grant the function's role secretsmanager:GetSecretValue on it yourself`,
      );
    }

    const defaults = bundledFunctionDefaults(handlerEntry('proxy'));
    this.function = new NodejsFunction(this, 'Function', {
      ...defaults,
      description: 'tollgate gateway: proxies provider APIs, meters and records spend',
      memorySize,
      timeout,
      ...(this.reservedConcurrency !== undefined && { reservedConcurrentExecutions: this.reservedConcurrency }),
      logGroup: new LogGroup(this, 'Logs', { retention: props.logRetention ?? RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY }),
      environment: {
        ...defaults.environment,
        [LAMBDA_ENV.config]: stack.toJsonString(this.gatewayConfig),
        [LAMBDA_ENV.keysTable]: props.keysTable.tableName,
        [LAMBDA_ENV.spendTable]: props.spendTable.tableName,
        [LAMBDA_ENV.pricesTable]: props.pricesTable.tableName,
        [LAMBDA_ENV.pricesRecheckMinutes]: String(recheck),
        [LAMBDA_ENV.secretsTtlSeconds]: String(DEFAULT_SECRETS_TTL_SECONDS),
        [LAMBDA_ENV.metricsNamespace]: props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE,
        ...(spendShards > 1 && { [LAMBDA_ENV.spendShards]: String(spendShards) }),
        ...(props.originSecret && { [LAMBDA_ENV.originSecret]: props.originSecret.secretArn }),
      },
    });
    this.url = this.function.addFunctionUrl({ authType: FunctionUrlAuthType.NONE, invokeMode: InvokeMode.RESPONSE_STREAM });

    const allow = (actions: readonly string[], resources: string[], conditions?: Record<string, Record<string, string>>) =>
      this.function.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: [...actions], resources, ...(conditions && { conditions }) }));
    allow(PROXY_TABLE_ACTIONS.keys, [props.keysTable.tableArn]);
    allow(PROXY_TABLE_ACTIONS.spend, [props.spendTable.tableArn]);
    allow(PROXY_TABLE_ACTIONS.prices, [props.pricesTable.tableArn]);
    allow(['secretsmanager:GetSecretValue'], [
      props.providerSecret.secretArn,
      stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${prefix}*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
    ]);
    if (props.originSecret) allow(['secretsmanager:GetSecretValue'], [props.originSecret.secretArn]);
    allow(['kms:Decrypt'], [props.secretsKey.keyArn], { StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com` } });
    acknowledge(this.function, {
      ...FUNCTION_ROLE_FINDINGS,
      [wildcardResource(this, ({ partition, region, account }) => `arn:${partition}:secretsmanager:${region}:${account}:secret:${prefix}*`)]:
        'Bring-your-own provider secrets, tracing header tokens and projects\' own (BYOK) credentials: named by the operator and the CLI under this prefix after deploying.',
    });

    // Bedrock, in each region a Bedrock account of the config signs for with the role (one with a
    // credential of its own does not use it); none at all when no account does.
    const bedrockRegions = bedrockRoleRegions(validated);
    if (bedrockRegions.length > 0) {
      const profiles = (resource: string, region: string) => stack.formatArn({ service: 'bedrock', region, resource, resourceName: '*' });
      allow(BEDROCK_ACTIONS, [
        // Cross-region inference profiles route to foundation models in other regions.
        `arn:${stack.partition}:bedrock:*::foundation-model/*`,
        ...bedrockRegions.flatMap((region) => [profiles('inference-profile', region), profiles('application-inference-profile', region)]),
      ]);
      acknowledge(this.function, {
        [wildcardResource(this, ({ partition }) => `arn:${partition}:bedrock:*::foundation-model/*`)]:
          'Which models a key may use is the gateway\'s decision (its allow-lists), and cross-region inference profiles run foundation models in any region of their geography: the role cannot list them.',
        ...Object.fromEntries(
          bedrockRegions.flatMap((region) => [
            [
              wildcardResource(this, ({ partition, account }) => `arn:${partition}:bedrock:${region}:${account}:inference-profile/*`),
              'Inference profiles are named by the model a request asks for; the gateway\'s allow-lists decide which are used.',
            ],
            [
              wildcardResource(this, ({ partition, account }) => `arn:${partition}:bedrock:${region}:${account}:application-inference-profile/*`),
              'Application inference profiles are the operator\'s own, created after deploying; the gateway\'s allow-lists decide which are used.',
            ],
          ]),
        ),
      });
    }
  }
}

/**
 * The regions the function's role signs Bedrock calls for: those of the config's Bedrock accounts
 * with no credential of their own (BYOK accounts always have one), each once, sorted (so reordering
 * the config changes no policy).
 */
export function bedrockRoleRegions(config: GatewayConfig): string[] {
  const regions = new Set<string>();
  for (const account of config.accounts.values()) {
    if (account.kind !== 'bedrock' || account.credential !== undefined) continue;
    regions.add(bedrockSigningRegion(account.options as BedrockOptions, account.baseUrl.hostname));
  }
  return [...regions].sort();
}

/**
 * Tracing headers whose secret the proxy's role cannot read: not under `prefix` (by name, or by
 * the name in its ARN). Provider credentials are not checked here: the stack fills most of them
 * in with its own secret.
 */
export function tracingSecretsOutside(tracing: TracingSettings | undefined, prefix: string): { readonly where: string; readonly secretId: string }[] {
  if (Token.isUnresolved(prefix)) return [];
  const outside: { where: string; secretId: string }[] = [];
  for (const { where, value } of tracingHeaders(tracing)) {
    if (value.kind !== 'secret') continue;
    // An ARN's resource is `secret:<name>-<6 random characters>`; the name is what the grant's prefix matches.
    const name = value.secretId.startsWith('arn:') ? (value.secretId.split(':secret:')[1] ?? '') : value.secretId;
    if (!name.startsWith(prefix)) outside.push({ where, secretId: value.secretId });
  }
  return outside;
}

/** Every export header of the tracing settings, with its place in the config (`tracing.export.headers.<name>`). */
function tracingHeaders(tracing: TracingSettings | undefined): { readonly where: string; readonly value: HeaderValue }[] {
  if (!tracing) return [];
  const destinations = [
    { where: 'tracing.export', settings: tracing.export },
    ...Object.entries(tracing.projects).map(([name, project]) => ({ where: `tracing.projects.${name}.export`, settings: project.export })),
  ];
  return destinations.flatMap(({ where, settings }) => (settings?.headers ?? []).map((header) => ({ where: `${where}.headers.${header.name}`, value: header.value })));
}

/**
 * Tracing headers whose value is not in Secrets Manager. One written in the config travels in the
 * template and the function's environment, readable by whoever can read either: a warning (it may
 * be no secret: a dataset name), acknowledgeable by its id. One read from an environment variable
 * cannot work at all — the stack sets none of the operator's, and a missing one stops the function
 * at start — so synth refuses it.
 */
function checkTracingHeadersOnLambda(scope: Construct, tracing: TracingSettings | undefined, prefix: string): void {
  for (const { where, value } of tracingHeaders(tracing)) {
    if (value.kind === 'env') {
      throw new Error(
        `TollgateProxy gatewayConfig ${where}: {"env": "${value.name}"} is never set on Lambda (the stack sets no environment variables of yours), so the function would fail to start: ` +
          `keep the value in Secrets Manager and name it, {"secret": "${prefix}<name>"}`,
      );
    }
    if (value.kind === 'literal') {
      Annotations.of(scope).addWarningV2(
        'tollgate:tracing-header-in-plain-text',
        `gatewayConfig ${where}: its value is in plain text in the template and in the function's environment, readable by whoever may read either. ` +
          `If it is a token, keep it in Secrets Manager and name it: {"secret": "${prefix}<name>"}; if it is not a secret, acknowledge this warning`,
      );
    }
  }
}

/** Reads a `tollgate.config.json`-shaped file for {@link TollgateProxyProps.gatewayConfig}; it is validated when the proxy is built. */
export function readGatewayConfigFile(path: string): GatewayConfigJson {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`gateway config ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`gateway config ${path}: must be a JSON object`);
  return parsed as GatewayConfigJson;
}

/**
 * Every provider that authenticates with a credential (Bedrock uses the function's role) reads
 * it from the managed secret unless the config says otherwise: each hosted kind's default
 * account, and every account the config names. (An unhosted kind — Azure, a generic
 * OpenAI-compatible server — has an account only where the config names one, with its host.)
 */
export function withSecretCredentials(given: GatewayConfigJson, secretId: string): GatewayConfigJson {
  const providers: Record<string, unknown> = { ...asObject(given['providers'], 'providers') };
  const names = new Set([...HOSTED_PROVIDER_IDS, ...Object.keys(providers)]);
  for (const name of names) {
    const settings = asObject(providers[name], `providers.${name}`);
    const kind = typeof settings['kind'] === 'string' ? settings['kind'] : name;
    const adapter = isProviderId(kind) ? PROVIDERS[kind] : undefined;
    // The field is the account's name: an added account (`openai-eu`) has its own credential.
    if (adapter === undefined || adapter.credentialOptional === true) continue;
    if (settings['credential'] === undefined) providers[name] = { ...settings, credential: { secret: secretId, field: name } };
  }
  return { ...given, providers };
}

/**
 * Bedrock is called in the stack's own region unless the config says otherwise, so a region's
 * prompts stay in that region — and the function's role signs for it.
 */
export function withRegionalBedrock(config: GatewayConfigJson, region: string): GatewayConfigJson {
  if (!Object.hasOwn(PROVIDERS, 'bedrock') || Token.isUnresolved(region)) return config;
  const providers = asObject(config['providers'], 'providers');
  const bedrock = asObject(providers['bedrock'], 'providers.bedrock');
  const options = asObject(bedrock['options'], 'providers.bedrock.options');
  if (bedrock['baseUrl'] !== undefined || options['region'] !== undefined) return config;
  return { ...config, providers: { ...providers, bedrock: { ...bedrock, options: { ...options, region } } } };
}

/**
 * The waits for a provider — for its first byte, and between two pieces of its body — must end
 * before Lambda ends the invocation: past one the gateway answers 504 (or cuts the stream) and
 * settles the request itself, where a function cut off by its timeout settles nothing (the
 * reconciler charges the estimate much later). A config that sets no wait gets the longest that
 * fits — the function is billed for the wait either way, and undici's own 300 s would cut a long
 * reasoning call the function could still have served; one that sets a wait too long for the
 * function is refused. (Whatever is still running {@link SETTLE_MARGIN_MS} before the cut is
 * stopped and settled by the handler's deadline.)
 */
export function withUpstreamWaitWithin(config: GatewayConfigJson, timeout: Duration, frontReadTimeout?: Duration): GatewayConfigJson {
  const functionFitsMs = timeout.toMilliseconds() - SETTLE_MARGIN_MS;
  const frontFitsMs = frontReadTimeout === undefined ? Infinity : frontReadTimeout.toMilliseconds() - FRONT_MARGIN_MS;
  const fitsMs = Math.min(functionFitsMs, frontFitsMs);
  const why =
    frontFitsMs < functionFitsMs
      ? `must end ${FRONT_MARGIN_MS / 1000} s before the CloudFront front gives up (its origin read timeout is ${frontReadTimeout!.toSeconds()} s), so the gateway answers and settles first`
      : `must leave the function ${SETTLE_MARGIN_MS / 1000} s of its ${timeout.toSeconds()} s timeout to answer and settle`;
  const upstream = config['upstream'] === undefined ? {} : asObject(config['upstream'], 'upstream');
  const filled: Record<string, unknown> = { ...upstream };
  for (const field of ['firstByteTimeoutMs', 'idleTimeoutMs'] as const) {
    const given = upstream[field];
    if (given === undefined) filled[field] = fitsMs;
    else if (typeof given === 'number' && given > fitsMs) {
      throw new Error(`TollgateProxy gatewayConfig: upstream.${field} (${given}) ${why}: at most ${fitsMs}, or leave it out to get exactly that`);
    }
  }
  return { ...config, upstream: filled };
}

/** What the gateway keeps of a front's read timeout to send its own 504, or cut a stream, first. */
const FRONT_MARGIN_MS = 5_000;

/** Past the function's timeout by at least this, a reservation can only belong to an invocation that has ended. */
const RESERVATION_TTL_MARGIN_SECONDS = 60;

/**
 * The reconciler settles every reservation older than `limits.reservationTtlSeconds` at its
 * estimate. If that could happen while the request still runs, the request's own settlement
 * finds its reservation gone and records nothing: it would be charged the estimate, not its
 * cost. So the TTL must outlast the longest invocation.
 */
export function checkReservationTtl(reservationTtlSeconds: number, timeout: Duration): void {
  const least = timeout.toSeconds() + RESERVATION_TTL_MARGIN_SECONDS;
  if (reservationTtlSeconds < least) {
    throw new Error(
      `TollgateProxy gatewayConfig: limits.reservationTtlSeconds (${reservationTtlSeconds}) must exceed the proxy's ${timeout.toSeconds()} s timeout by ` +
        `${RESERVATION_TTL_MARGIN_SECONDS} s, or the reconciler may settle a request at its estimate while it is still running: ` +
        `set it to at least ${least}, or shorten the proxy's timeout`,
    );
  }
}

function validateGatewayConfig(config: GatewayConfigJson): GatewayConfig {
  let parsed: GatewayConfig;
  try {
    parsed = parseConfig(config, 'TollgateProxy gatewayConfig');
  } catch (error) {
    if (error instanceof ConfigError) throw new Error(`${error.message} (the same rules as tollgate.config.json; see the README's Configuration section)`);
    throw error;
  }
  // Tokens (the secret's ARN) render longer than their placeholders; leave room for them.
  const size = Buffer.byteLength(JSON.stringify(config));
  if (size > MAX_CONFIG_JSON_BYTES) {
    throw new Error(
      `TollgateProxy gatewayConfig is ${size} bytes as JSON, over the ${MAX_CONFIG_JSON_BYTES} that fit in a Lambda environment (4 KB in all); ` +
        'move long custom price lists out of it, or trim unused provider settings',
    );
  }
  return parsed;
}

function asObject(value: unknown, where: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`TollgateProxy gatewayConfig: ${where}: must be an object`);
  return value as Record<string, unknown>;
}
