import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Store } from '../store/port';

export const DEFAULT_DATA_DIR = '.tollgate';

/**
 * `TOLLGATE_STORE=sqlite` (default) keeps one file under `TOLLGATE_DATA_DIR`.
 * `TOLLGATE_STORE=dynamodb` uses `TOLLGATE_KEYS_TABLE` and `TOLLGATE_SPEND_TABLE`, at
 * `TOLLGATE_DYNAMODB_ENDPOINT` if set (a local engine, whose tables are then created on demand).
 * The adapters are loaded lazily: each pulls in a heavy dependency the other never needs.
 */
export async function openStoreFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<Store> {
  const kind = env['TOLLGATE_STORE'] ?? 'sqlite';
  if (kind === 'sqlite') {
    const { openSqliteStore } = await import('../store/sqlite');
    return openSqliteStore({ dataDir: env['TOLLGATE_DATA_DIR'] ?? DEFAULT_DATA_DIR });
  }
  if (kind === 'dynamodb') {
    const { createTollgateTables, openDynamoStore } = await import('../store/dynamodb');
    const endpoint = env['TOLLGATE_DYNAMODB_ENDPOINT'];
    const names = {
      keysTable: required(env, 'TOLLGATE_KEYS_TABLE'),
      spendTable: required(env, 'TOLLGATE_SPEND_TABLE'),
    };
    const client = new DynamoDBClient(endpoint ? { endpoint } : {});
    if (endpoint) await createTollgateTables(client, names);
    const store = openDynamoStore({ client, ...names });
    return {
      ...store,
      async close() {
        await store.close();
        client.destroy();
      },
    };
  }
  throw new Error(`TOLLGATE_STORE must be "sqlite" or "dynamodb", not "${kind}"`);
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${name} must be set when TOLLGATE_STORE=dynamodb`);
  return value;
}
