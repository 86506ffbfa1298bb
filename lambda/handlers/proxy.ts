import type { Writable } from 'node:stream';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { ConfigError, parseConfig } from '../config/config';
import { secretsManagerCredentials, secretsManagerReader } from '../config/secrets';
import { createGateway, type Gateway } from '../core/gateway';
import { createRouter } from '../core/route';
import { storeFailuresAsUnavailable } from '../core/store-unavailable';
import { createUpstreamAgent } from '../core/upstream';
import { DEFAULT_METRICS_NAMESPACE } from '../observability/catalog';
import { emfLogger } from '../observability/emf';
import { tracingFromEnv } from '../observability/otel/settings';
import { createTracing, type Tracing } from '../observability/otel/tracing';
import { PriceSync } from '../prices/apply';
import { dynamoPriceStore } from '../prices/dynamodb-store';
import { Pricer } from '../pricing/pricer';
import { lambdaStreamingRuntime, serveFunctionUrl, type StreamingHandler } from '../server/lambda-stream';
import { openDynamoStore } from '../store/dynamodb';
import { InvocationDeadline } from './deadline';
import { originCheck, type OriginVerdict } from './origin-check';
import { DEFAULT_PRICES_RECHECK_MINUTES, DEFAULT_SECRETS_TTL_SECONDS, LAMBDA_ENV, numberEnv, requiredEnv, SETTLE_MARGIN_MS } from './env';

/** What middy passes through its middlewares: the function URL event and the stream to answer on. */
export interface ProxyInvocation {
  readonly event: LambdaFunctionURLEvent;
  readonly responseStream: Writable;
}

/** Built once per sandbox, at init; every invocation reuses it. */
export interface ProxyDeps {
  readonly gateway: Gateway;
  /** Undefined when no prices table is configured: genai-prices' bundled data is used. */
  readonly prices: PriceSync | undefined;
  /** OpenTelemetry export, flushed at the end of each invocation; off unless configured. */
  readonly tracing: Tracing;
  /** The longest an invocation waits for its spans to be sent, after its response has ended. */
  readonly flushTimeoutMs: number;
  /** Stops the invocation's upstream calls in time to record their spend before Lambda's timeout. */
  readonly deadline: InvocationDeadline;
  /** With a CloudFront front: refuses requests that did not come through it. */
  readonly origin: ((event: LambdaFunctionURLEvent) => Promise<OriginVerdict>) | undefined;
}

/**
 * The one place the Lambda proxy is wired: the same core as `npm start`, on the DynamoDB store,
 * with provider credentials and tracing headers from Secrets Manager, EMF metrics for logs, and
 * the stored price copy.
 * Everything here is synchronous, so a bad config fails the init phase with its message.
 */
export function wireProxy(env: NodeJS.ProcessEnv, tracer: Tracer): ProxyDeps {
  const config = parseConfig(parseJson(env[LAMBDA_ENV.config] ?? '{}'), LAMBDA_ENV.config);
  // Region, credentials and (for tests) AWS_ENDPOINT_URL_* come from the environment, as in any AWS SDK client.
  const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient({}));
  const secrets = tracer.captureAWSv3Client(new SecretsManagerClient({}));
  const logger = emfLogger({ namespace: env[LAMBDA_ENV.metricsNamespace] || DEFAULT_METRICS_NAMESPACE });
  const deadline = new InvocationDeadline(SETTLE_MARGIN_MS);
  const store = openDynamoStore({
    client: dynamodb,
    keysTable: requiredEnv(env, LAMBDA_ENV.keysTable),
    spendTable: requiredEnv(env, LAMBDA_ENV.spendTable),
    uncappedShards: numberEnv(env, LAMBDA_ENV.spendShards, 1),
  });
  const pricesTable = env[LAMBDA_ENV.pricesTable];
  const prices = pricesTable
    ? new PriceSync({
        store: dynamoPriceStore({ client: dynamodb, table: pricesTable }),
        intervalMs: numberEnv(env, LAMBDA_ENV.pricesRecheckMinutes, DEFAULT_PRICES_RECHECK_MINUTES) * 60_000,
        logger,
      })
    : undefined;
  // One cache for every secret: provider credentials, and tracing headers (read per span batch).
  const secretValues = secretsManagerReader({ client: secrets, ttlMs: numberEnv(env, LAMBDA_ENV.secretsTtlSeconds, DEFAULT_SECRETS_TTL_SECONDS) * 1000 });
  const tracingSettings = tracingFromEnv(config.tracing, env);
  const tracing = createTracing(tracingSettings, { env, logger, secrets: secretValues, onlyWhenFlushed: true });
  const gateway = createGateway({
    config,
    store: storeFailuresAsUnavailable(store, logger),
    pricer: new Pricer(config.prices),
    upstream: deadline.bind(createUpstreamAgent(config.upstream)),
    credential: secretsManagerCredentials({ reader: secretValues, env }),
    logger,
    tracer: tracing.tracer,
  });
  const originSecret = env[LAMBDA_ENV.originSecret];
  const router = originSecret ? createRouter(config) : undefined;
  const origin = originSecret && router ? originCheck({ client: secrets, secretId: originSecret, logger, formatOf: (method, url) => router.formatOf(method, url) }) : undefined;
  return { gateway, prices, deadline, origin, tracing, flushTimeoutMs: tracingSettings?.flushTimeoutMs ?? 0 };
}

/**
 * The function URL handler. Per invocation:
 *
 * ```
 * (first invocation: stored prices load) ─▶ serveFunctionUrl: request ─▶ stream the response ─▶ settle spend ─▶ end
 *                                                        ─▶ spans sent (when tracing; at most flushTimeoutMs)
 *                                                        ─▶ newer prices stored? (every N minutes, after the end)
 *            timeout − 30 s, if still running: upstream stopped ─▶ settle spend ─▶ response cut
 * ```
 * Nothing is left running when it resolves: Lambda would freeze it mid-write.
 */
export function createProxyHandler(env: NodeJS.ProcessEnv = process.env): StreamingHandler<LambdaFunctionURLEvent> {
  const runtime = lambdaStreamingRuntime();
  const tracer = new Tracer({ serviceName: 'tollgate' });
  const { gateway, prices, deadline, origin, tracing, flushTimeoutMs } = wireProxy(env, tracer);
  // Loaded by the first invocation, not during init: a traced AWS call outside an invocation has no
  // trace to join, and X-Ray logs "Missing AWS Lambda trace data" with a stack trace whose
  // source-mapped formatting cost the cold start ~200 ms. Started at init it would have overlapped
  // only with the runtime's fetch of the first event, a millisecond. Never rejects (a failed load
  // keeps the bundled data).
  let pricesLoaded: Promise<void> | undefined;

  // middy's own timeout would abandon a stream mid-way and its spend with it; Lambda's timeout is the limit.
  const serve = middy<ProxyInvocation, void>({ timeoutEarlyInMillis: 0 })
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .handler(async ({ event, responseStream }: ProxyInvocation) => {
      await (pricesLoaded ??= prices?.load() ?? Promise.resolve());
      const verdict = origin ? await origin(event) : { admitted: event };
      if ('refused' in verdict) await serveFunctionUrl({ handle: async () => verdict.refused }, event, responseStream, runtime);
      else await serveFunctionUrl(gateway, verdict.admitted, responseStream, runtime);
      // After the response ended, so the client never waits for them; bounded, so a slow
      // receiver cannot hold the invocation (what is left is sent by a later one).
      await tracing.flush(flushTimeoutMs);
      // After the response ended, so the client never waits for it.
      await prices?.refreshIfDue();
    });

  return runtime.streamifyResponse<LambdaFunctionURLEvent>((event, responseStream, context) =>
    deadline.during(context.getRemainingTimeInMillis(), () => serve({ event, responseStream }, context)),
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${LAMBDA_ENV.config}: not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}

export const handler = createProxyHandler();
