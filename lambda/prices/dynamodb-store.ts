import { type AttributeValue, type DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { PriceSnapshot, PriceSnapshotMeta, PriceStore } from './store';

export interface DynamoPriceStoreOptions {
  readonly client: DynamoDBClient;
  /** Partition key `pk` (S); the copy is the one item `pk = "genai-prices"`. */
  readonly table: string;
}

/**
 * DynamoDB items are capped at 400 KB. genai-prices' data is ~0.5 MB of JSON but ~75 KB gzipped,
 * so one item holds it with five-fold headroom; past this limit the copy would need S3.
 */
export const MAX_STORED_PRICE_BYTES = 350 * 1024;

const PK = 'genai-prices';
// `source` is a DynamoDB reserved word; naming every attribute keeps the expressions uniform.
const NAMES = { '#sha': 'sha256', '#source': 'source', '#fetched': 'fetchedAt', '#checked': 'checkedAt' };

/**
 * @example
 * const store = dynamoPriceStore({ client: new DynamoDBClient({}), table: process.env.TOLLGATE_PRICES_TABLE! });
 * const meta = await store.head(); // a projected read: the data attribute stays on the server
 */
export function dynamoPriceStore(options: DynamoPriceStoreOptions): PriceStore {
  const { client, table } = options;
  const key = { pk: { S: PK } };
  return {
    async head() {
      const { Item } = await client.send(
        new GetItemCommand({ TableName: table, Key: key, ProjectionExpression: Object.keys(NAMES).join(', '), ExpressionAttributeNames: NAMES }),
      );
      return Item && toMeta(Item);
    },
    async load() {
      const { Item } = await client.send(new GetItemCommand({ TableName: table, Key: key }));
      const data = Item?.['data']?.B;
      if (!Item || !data) return undefined;
      return { ...toMeta(Item), data: gunzipSync(data) };
    },
    async save(snapshot: PriceSnapshot) {
      const data = gzipSync(snapshot.data, { level: 9 });
      if (data.byteLength > MAX_STORED_PRICE_BYTES) {
        throw new Error(`price data is ${data.byteLength} bytes gzipped, over the ${MAX_STORED_PRICE_BYTES} one DynamoDB item may hold; it needs S3`);
      }
      await client.send(
        new PutItemCommand({
          TableName: table,
          Item: {
            ...key,
            data: { B: data },
            sha256: { S: snapshot.sha256 },
            source: { S: snapshot.source },
            fetchedAt: { S: snapshot.fetchedAt },
            checkedAt: { S: snapshot.checkedAt },
            bytes: { N: String(snapshot.data.byteLength) },
          },
        }),
      );
    },
    async confirm(sha256, checkedAt) {
      // Conditional: if another refresh replaced the copy meanwhile, its checkedAt is the truth.
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: table,
            Key: key,
            UpdateExpression: 'SET #checked = :checked',
            ConditionExpression: '#sha = :sha',
            ExpressionAttributeNames: { '#checked': 'checkedAt', '#sha': 'sha256' },
            ExpressionAttributeValues: { ':checked': { S: checkedAt }, ':sha': { S: sha256 } },
          }),
        );
      } catch (error) {
        if (!(error instanceof Error && error.name === 'ConditionalCheckFailedException')) throw error;
      }
    },
  };
}

function toMeta(item: Record<string, AttributeValue>): PriceSnapshotMeta {
  const text = (name: string): string => {
    const value = item[name]?.S;
    if (value === undefined) throw new Error(`the stored price data lacks ${name}`);
    return value;
  };
  return { sha256: text('sha256'), source: text('source'), fetchedAt: text('fetchedAt'), checkedAt: text('checkedAt') };
}
