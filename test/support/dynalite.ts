import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTollgateTables, type TollgateTableNames } from '../../lambda/store/dynamodb';

/** The slice of dynalite's (untyped) factory we use. */
type DynaliteFactory = (options: { createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;

export interface LocalDynamo {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** Talks only to this dynalite: explicit region, endpoint and fake credentials, so no credential chain runs. */
  readonly client: DynamoDBClient;
  /** A fresh, uniquely named pair of tollgate tables, ready to use. */
  createTables(): Promise<TollgateTableNames>;
  close(): Promise<void>;
}

let tablePairs = 0;

/** Starts dynalite in this process on an ephemeral loopback port, backed by memory. */
export async function startDynalite(): Promise<LocalDynamo> {
  // dynalite ships no types; require keeps the untyped module out of the type checker's way.
  const dynalite = require('dynalite') as DynaliteFactory;
  // Tables go ACTIVE at once instead of after dynalite's default half second.
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'tollgate-test', secretAccessKey: 'tollgate-test' },
  });

  return {
    endpoint,
    client,
    async createTables() {
      // Names only need to be unique within this server, which lives for one test file.
      const suffix = `${process.pid}-${++tablePairs}`;
      const names = { keysTable: `tollgate-keys-${suffix}`, spendTable: `tollgate-spend-${suffix}` };
      await createTollgateTables(client, names);
      return names;
    },
    async close() {
      client.destroy();
      // Keep-alive sockets would otherwise hold server.close() open.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
