import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { reconcileExpired } from '../limits/reconciler';
import { DEFAULT_METRICS_NAMESPACE } from '../observability/catalog';
import { emfLogger } from '../observability/emf';
import { openDynamoStore } from '../store/dynamodb';
import type { Store } from '../store/port';
import { LAMBDA_ENV, requiredEnv } from './env';

// Created on the first run, kept for the sandbox's life; importing this module does nothing.
let store: Store | undefined;

/**
 * What a run keeps of its timeout: it takes no new reservation after this, so Lambda never cuts a
 * settlement in two (its reservation deleted, its spend not yet written).
 */
export const RECONCILE_MARGIN_MS = 10_000;

/**
 * The EventBridge-scheduled reconciler: settles reservations whose invocation died before it
 * could (a timeout, a crash) at their estimate. A proxy cannot do this on a timer of its own —
 * Lambda freezes it between invocations — so it runs here, every few minutes. A backlog too long
 * for one run is left, once {@link RECONCILE_MARGIN_MS} remain, to the next.
 */
export const handler = async (_event?: unknown, context?: { getRemainingTimeInMillis(): number }): Promise<{ readonly settled: number; readonly stoppedEarly?: true }> => {
  const env = process.env;
  store ??= openDynamoStore({ client: new DynamoDBClient({}), keysTable: requiredEnv(env, LAMBDA_ENV.keysTable), spendTable: requiredEnv(env, LAMBDA_ENV.spendTable) });
  const logger = emfLogger({ namespace: env[LAMBDA_ENV.metricsNamespace] || DEFAULT_METRICS_NAMESPACE });
  let stoppedEarly = false;
  const stopping = () => (stoppedEarly ||= context !== undefined && context.getRemainingTimeInMillis() < RECONCILE_MARGIN_MS);
  const settled = await reconcileExpired(store, new Date(), logger, { stopping });
  if (!stoppedEarly) return { settled };
  logger.info('reconcile_stopped_early', { settled, margin_ms: RECONCILE_MARGIN_MS });
  return { settled, stoppedEarly: true };
};
