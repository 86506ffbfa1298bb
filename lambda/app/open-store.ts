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
    const [{ DynamoDBClient }, { createTollgateTables, openDynamoStore }] = await Promise.all([
      import('@aws-sdk/client-dynamodb'),
      import('../store/dynamodb'),
    ]);
    const endpoint = env['TOLLGATE_DYNAMODB_ENDPOINT'];
    const names = {
      keysTable: required(env, 'TOLLGATE_KEYS_TABLE'),
      spendTable: required(env, 'TOLLGATE_SPEND_TABLE'),
    };
    const region = env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'];
    const accessKeyId = env['AWS_ACCESS_KEY_ID'];
    const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
    // Read from the env we were given, not process.env, so callers (and tests) control it.
    const client = new DynamoDBClient({
      ...(endpoint && { endpoint }),
      ...(region && { region }),
      ...(accessKeyId && secretAccessKey && { credentials: { accessKeyId, secretAccessKey, ...(env['AWS_SESSION_TOKEN'] && { sessionToken: env['AWS_SESSION_TOKEN'] }) } }),
    });
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
