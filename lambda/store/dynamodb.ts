import {
  type AttributeValue,
  ConditionalCheckFailedException,
  CreateTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  paginateQuery,
  paginateScan,
  PutItemCommand,
  type QueryCommandInput,
  ResourceInUseException,
  type ScanCommandInput,
  UpdateItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { periodLabels } from './periods';
import {
  assertNanos,
  DuplicateKeyIdError,
  type KeyRecord,
  type ProjectRecord,
  type Scope,
  type ScopeKind,
  type SpendCounter,
  type SpendEntry,
  type Store,
} from './port';

export interface DynamoStoreOptions {
  /** Owned by the caller: {@link Store.close} leaves it open so one client can serve many stores. */
  readonly client: DynamoDBClient;
  /** Keys and projects, partition key `pk` (S). */
  readonly keysTable: string;
  /** Spend counters, partition key `pk` (S) and sort key `sk` (S). */
  readonly spendTable: string;
}

export interface TollgateTableNames {
  readonly keysTable: string;
  readonly spendTable: string;
}

/** One counter of a {@link SpendEntry}: a scope in one period. */
export interface SpendCounterRef {
  readonly scope: Scope;
  readonly period: string;
}

/**
 * Some counters of a spend entry did not move (or their outcome is unknown). `failed` lists
 * them, with their errors, so a caller can re-apply exactly those instead of the whole entry.
 */
export class SpendWriteError extends Error {
  constructor(
    readonly failed: readonly (SpendCounterRef & { readonly error: unknown })[],
    readonly attempted: number,
  ) {
    super(`recording spend failed on ${failed.length} of ${attempted} counters`, { cause: failed[0]?.error });
    this.name = 'SpendWriteError';
  }
}

type Item = Record<string, AttributeValue>;

const KEY_PREFIX = 'key#';
const PROJECT_PREFIX = 'project#';
// A Record rather than an array so adding a ScopeKind without listing it here fails to compile.
const SCOPE_KINDS: Readonly<Record<ScopeKind, true>> = { key: true, user: true, project: true };

/**
 * Creates the two tables (on-demand billing) and waits until they are ACTIVE. Tables that
 * already exist are left as they are, so running it twice is harmless.
 */
export async function createTollgateTables(client: DynamoDBClient, names: TollgateTableNames): Promise<void> {
  const create = async (command: CreateTableCommand): Promise<void> => {
    try {
      await client.send(command);
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    // The service default polls every 20 s; tables take seconds on AWS and milliseconds locally.
    await waitUntilTableExists(
      { client, minDelay: 0.1, maxDelay: 5, maxWaitTime: 300 },
      { TableName: command.input.TableName },
    );
  };
  await Promise.all([
    create(
      new CreateTableCommand({
        TableName: names.keysTable,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    ),
    create(
      new CreateTableCommand({
        TableName: names.spendTable,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    ),
  ]);
}

/**
 * The AWS store. Keys and projects share one table; spend lives in one item per scope × period,
 * moved with `ADD` so concurrent gateways never lose an increment.
 *
 * Every read is strongly consistent: a revocation or a cap must bite on the very next request,
 * not after replication catches up.
 */
export function openDynamoStore(options: DynamoStoreOptions): Store {
  const { client, keysTable, spendTable } = options;

  const scanAll = async (input: ScanCommandInput): Promise<Item[]> => {
    const items: Item[] = [];
    for await (const page of paginateScan({ client }, { ...input, ConsistentRead: true })) items.push(...(page.Items ?? []));
    return items;
  };
  const queryAll = async (input: QueryCommandInput): Promise<Item[]> => {
    const items: Item[] = [];
    for await (const page of paginateQuery({ client }, { ...input, ConsistentRead: true })) items.push(...(page.Items ?? []));
    return items;
  };
  const getItem = async (pk: string): Promise<Item | undefined> => {
    const result = await client.send(new GetItemCommand({ TableName: keysTable, Key: { pk: { S: pk } }, ConsistentRead: true }));
    return result.Item;
  };
  const putIfAbsent = async (item: Item): Promise<boolean> => {
    try {
      await client.send(new PutItemCommand({ TableName: keysTable, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  };

  return {
    async createProject(project) {
      await putIfAbsent({
        pk: { S: PROJECT_PREFIX + project.name },
        name: { S: project.name },
        createdAt: { S: project.createdAt },
      });
    },
    async getProject(name) {
      const item = await getItem(PROJECT_PREFIX + name);
      return item && toProject(item);
    },
    async listProjects() {
      const items = await scanAll({
        TableName: keysTable,
        FilterExpression: 'begins_with(pk, :prefix)',
        ExpressionAttributeValues: { ':prefix': { S: PROJECT_PREFIX } },
      });
      return items.map(toProject).sort((a, b) => compareText(a.name, b.name));
    },

    async createKey(key) {
      // Like the SQLite adapter, a key is born unrevoked: any revokedAt on the input is ignored.
      const created = await putIfAbsent({
        pk: { S: KEY_PREFIX + key.id },
        id: { S: key.id },
        hash: { S: key.hash },
        prefix: { S: key.prefix },
        project: { S: key.project },
        createdAt: { S: key.createdAt },
        ...(key.user !== undefined && { user: { S: key.user } }),
        ...(key.name !== undefined && { name: { S: key.name } }),
      });
      if (!created) throw new DuplicateKeyIdError(key.id);
    },
    async getKey(id) {
      const item = await getItem(KEY_PREFIX + id);
      return item && toKeyRecord(item);
    },
    async listKeys(filter) {
      // project and user are DynamoDB reserved words, hence the #names.
      const conditions = ['begins_with(pk, :prefix)'];
      const names: Record<string, string> = {};
      const values: Item = { ':prefix': { S: KEY_PREFIX } };
      if (filter?.project !== undefined) {
        conditions.push('#project = :project');
        names['#project'] = 'project';
        values[':project'] = { S: filter.project };
      }
      if (filter?.user !== undefined) {
        conditions.push('#user = :user');
        names['#user'] = 'user';
        values[':user'] = { S: filter.user };
      }
      const items = await scanAll({
        TableName: keysTable,
        FilterExpression: conditions.join(' AND '),
        ...(Object.keys(names).length > 0 && { ExpressionAttributeNames: names }),
        ExpressionAttributeValues: values,
      });
      return items.map(toKeyRecord).sort((a, b) => compareText(a.createdAt, b.createdAt) || compareText(a.id, b.id));
    },
    async revokeKey(id, at) {
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: keysTable,
            Key: { pk: { S: KEY_PREFIX + id } },
            UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :at)',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ':at': { S: at.toISOString() } },
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
    },

    /*
     * "Atomic" here is weaker than the port's all-or-nothing: every counter moves atomically on
     * its own (ADD is applied server-side, so concurrent writers never lose an increment), but
     * the counters of one entry are separate writes. TransactWriteItems would make them one, and
     * dynalite (our only local engine) does not implement it. So a partial failure is surfaced
     * as a SpendWriteError naming the counters that did not move, never swallowed.
     *
     * A caller that retries the whole entry double counts the counters that did move. We accept
     * that direction on purpose: over-reporting spend makes a cap trip early, under-reporting lets
     * it leak, and "caps that hold" wins. The SDK's own retries can over-count the same way (an
     * ADD whose response was lost is applied twice). A caller wanting exact totals re-applies
     * only `error.failed`.
     */
    async recordSpend(entry: SpendEntry) {
      assertNanos(entry.nanos);
      const periods = periodLabels(entry.at);
      const refs = entry.scopes.flatMap((scope) => periods.map((period): SpendCounterRef => ({ scope, period })));
      const results = await Promise.allSettled(
        refs.map(({ scope, period }) =>
          client.send(
            new UpdateItemCommand({
              TableName: spendTable,
              Key: { pk: { S: spendPk(scope) }, sk: { S: period } },
              UpdateExpression: 'ADD nanos :nanos, requests :one',
              ExpressionAttributeValues: { ':nanos': { N: String(entry.nanos) }, ':one': { N: '1' } },
            }),
          ),
        ),
      );
      const failed = results.flatMap((result, i) => {
        const ref = refs[i];
        return result.status === 'rejected' && ref ? [{ ...ref, error: result.reason as unknown }] : [];
      });
      if (failed.length > 0) throw new SpendWriteError(failed, refs.length);
    },
    async getSpend(query) {
      const kind = query?.kind;
      const id = query?.id;
      let items: Item[];
      if (kind !== undefined && id !== undefined) {
        items = await queryAll({
          TableName: spendTable,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: spendPk({ kind, id }) } },
        });
      } else if (kind !== undefined) {
        items = await scanAll({
          TableName: spendTable,
          FilterExpression: 'begins_with(pk, :prefix)',
          ExpressionAttributeValues: { ':prefix': { S: `${kind}#` } },
        });
      } else {
        // An id alone is a pk suffix, which no filter expression can match; filter below.
        items = await scanAll({ TableName: spendTable });
      }
      return items
        .map(toCounter)
        .filter((counter) => id === undefined || counter.scope.id === id)
        .sort(
          (a, b) =>
            compareText(a.scope.kind, b.scope.kind) || compareText(a.scope.id, b.scope.id) || compareText(a.period, b.period),
        );
    },

    async close() {
      // Nothing to release: the client belongs to the caller (see DynamoStoreOptions.client).
    },
  };
}

function spendPk(scope: Scope): string {
  return `${scope.kind}#${scope.id}`;
}

function toProject(item: Item): ProjectRecord {
  return { name: requiredString(item, 'name'), createdAt: requiredString(item, 'createdAt') };
}

function toKeyRecord(item: Item): KeyRecord {
  const user = item.user?.S;
  const name = item.name?.S;
  const revokedAt = item.revokedAt?.S;
  return {
    id: requiredString(item, 'id'),
    hash: requiredString(item, 'hash'),
    prefix: requiredString(item, 'prefix'),
    project: requiredString(item, 'project'),
    createdAt: requiredString(item, 'createdAt'),
    ...(user !== undefined && { user }),
    ...(name !== undefined && { name }),
    ...(revokedAt !== undefined && { revokedAt }),
  };
}

function toCounter(item: Item): SpendCounter {
  const pk = requiredString(item, 'pk');
  // Split at the first '#': kinds never contain one, ids may.
  const split = pk.indexOf('#');
  const kind = pk.slice(0, split);
  if (split < 0 || !isScopeKind(kind)) throw new Error(`unexpected item in spend table: pk ${pk}`);
  return {
    scope: { kind, id: pk.slice(split + 1) },
    period: requiredString(item, 'sk'),
    nanos: safeInteger(item, 'nanos'),
    requests: safeInteger(item, 'requests'),
  };
}

function isScopeKind(value: string): value is ScopeKind {
  return Object.hasOwn(SCOPE_KINDS, value);
}

function requiredString(item: Item, attribute: string): string {
  const value = item[attribute]?.S;
  if (value === undefined) throw new Error(`item ${item.pk?.S} lacks string attribute ${attribute}`);
  return value;
}

/** DynamoDB numbers carry 38 digits; refuse to round one silently into a JS number. */
function safeInteger(item: Item, attribute: string): number {
  const text = item[attribute]?.N;
  const value = Number(text);
  if (text === undefined || !Number.isSafeInteger(value)) {
    throw new RangeError(`item ${item.pk?.S} ${item.sk?.S}: ${attribute} ${text} is not a safe integer`);
  }
  return value;
}

/**
 * SQLite's BINARY collation orders UTF-8 bytes, i.e. code points; JS `<` orders UTF-16 units,
 * which disagrees once astral characters meet U+E000–U+FFFF. Match SQLite so both adapters list alike.
 */
function compareText(a: string, b: string): number {
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
