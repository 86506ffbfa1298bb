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
 * The EventBridge-scheduled reconciler: settles reservations whose invocation died before it
 * could (a timeout, a crash) at their estimate. A proxy cannot do this on a timer of its own —
 * Lambda freezes it between invocations — so it runs here, every few minutes.
 */
export const handler = async (): Promise<{ readonly settled: number }> => {
  const env = process.env;
  store ??= openDynamoStore({ client: new DynamoDBClient({}), keysTable: requiredEnv(env, LAMBDA_ENV.keysTable), spendTable: requiredEnv(env, LAMBDA_ENV.spendTable) });
  const settled = await reconcileExpired(store, new Date(), emfLogger({ namespace: env[LAMBDA_ENV.metricsNamespace] || DEFAULT_METRICS_NAMESPACE }));
  return { settled };
};
