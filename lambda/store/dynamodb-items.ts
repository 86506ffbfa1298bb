import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  paginateQuery,
  paginateScan,
  type QueryCommandInput,
  type ScanCommandInput,
} from '@aws-sdk/client-dynamodb';

/** Small helpers both halves of the DynamoDB adapter share. */
export type Item = Record<string, AttributeValue>;

export async function scanAll(client: DynamoDBClient, input: ScanCommandInput): Promise<Item[]> {
  const items: Item[] = [];
  for await (const page of paginateScan({ client }, { ...input, ConsistentRead: true })) items.push(...(page.Items ?? []));
  return items;
}

export async function queryAll(client: DynamoDBClient, input: QueryCommandInput): Promise<Item[]> {
  const items: Item[] = [];
  for await (const page of paginateQuery({ client }, { ...input, ConsistentRead: true })) items.push(...(page.Items ?? []));
  return items;
}

/** Resolves false where a condition refused the write: the expected outcome, not an error. */
export async function conditionally(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

export function requiredString(item: Item, attribute: string): string {
  const value = item[attribute]?.S;
  if (value === undefined) throw new Error(`item ${item['pk']?.S} lacks string attribute ${attribute}`);
  return value;
}

/** DynamoDB numbers carry 38 digits; refuse to round one silently into a JS number. */
export function safeInteger(item: Item, attribute: string): number {
  const text = item[attribute]?.N;
  if (text === undefined) return 0;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`item ${item['pk']?.S} ${item['sk']?.S}: ${attribute} ${text} is not a safe integer`);
  return value;
}

/**
 * SQLite's BINARY collation orders UTF-8 bytes, i.e. code points; JS `<` orders UTF-16 units,
 * which disagrees once astral characters meet U+E000–U+FFFF. Match SQLite so both adapters list alike.
 */
export function compareText(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; ) {
    const ca = a.codePointAt(i) ?? 0;
    const cb = b.codePointAt(i) ?? 0;
    if (ca !== cb) return ca - cb;
    i += ca > 0xffff ? 2 : 1;
  }
  return a.length - b.length;
}
