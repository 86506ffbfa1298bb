import {
  CreateTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ResourceInUseException,
  UpdateItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { parseAccess, serializeAccess } from './access-lists';
import { compareText, conditionally, type Item, requiredString, scanAll } from './dynamodb-items';
import { dynamoSpend, type DynamoSpendOptions } from './dynamodb-spend';
import {
  type AccessLists,
  DuplicateKeyIdError,
  type KeyRecord,
  type Limits,
  type ProjectAccountRecord,
  type ProjectRecord,
  type RateLimits,
  type Store,
  type UserRecord,
} from './port';

export { SpendWriteError } from './dynamodb-spend';

export interface DynamoStoreOptions {
  /** Owned by the caller: {@link Store.close} leaves it open so one client can serve many stores. */
  readonly client: DynamoDBClient;
  /** Keys, projects and users, partition key `pk` (S). */
  readonly keysTable: string;
  /** Spend counters and reservations, partition key `pk` (S) and sort key `sk` (S). */
  readonly spendTable: string;
  /** See {@link DynamoSpendOptions.uncappedShards}. @default 1 */
  readonly uncappedShards?: number;
}

export interface TollgateTableNames {
  readonly keysTable: string;
  readonly spendTable: string;
}

const KEY_PREFIX = 'key#';
const PROJECT_PREFIX = 'project#';
const USER_PREFIX = 'user#';
/**
 * A project's own provider accounts share one item, an attribute each (`account:<name>`): a
 * request's policy reads them all with one GetItem, and each is added or removed atomically.
 */
const ACCOUNTS_PREFIX = 'accounts#';
const ACCOUNT_ATTRIBUTE = 'account:';

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
    await waitUntilTableExists({ client, minDelay: 0.1, maxDelay: 5, maxWaitTime: 300 }, { TableName: command.input.TableName });
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
 * The AWS store. Keys, projects and users share one table; spend and reservations live in the
 * other (see `dynamodb-spend.ts`).
 *
 * Every read is strongly consistent: a revocation or a cap must bite on the very next request,
 * not after replication catches up.
 */
export function openDynamoStore(options: DynamoStoreOptions): Store {
  const { client, keysTable } = options;

  const getItem = async (pk: string): Promise<Item | undefined> =>
    (await client.send(new GetItemCommand({ TableName: keysTable, Key: { pk: { S: pk } }, ConsistentRead: true }))).Item;
  const putIfAbsent = (item: Item): Promise<boolean> =>
    conditionally(() => client.send(new PutItemCommand({ TableName: keysTable, Item: item, ConditionExpression: 'attribute_not_exists(pk)' })));
  const listByPrefix = async (prefix: string): Promise<Item[]> =>
    scanAll(client, { TableName: keysTable, FilterExpression: 'begins_with(pk, :prefix)', ExpressionAttributeValues: { ':prefix': { S: prefix } } });

  /** SET the given attributes, REMOVE the nulls; false if the item does not exist. */
  const patchItem = (pk: string, fields: Record<string, string | null | undefined>): Promise<boolean> => {
    const set: string[] = [];
    const remove: string[] = [];
    const names: Record<string, string> = {};
    const values: Item = {};
    for (const [field, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      names[`#${field}`] = field;
      if (value === null) remove.push(`#${field}`);
      else {
        set.push(`#${field} = :${field}`);
        values[`:${field}`] = { S: value };
      }
    }
    const update = [set.length > 0 ? `SET ${set.join(', ')}` : '', remove.length > 0 ? `REMOVE ${remove.join(', ')}` : ''].join(' ').trim();
    if (update === '') return getItem(pk).then((item) => item !== undefined);
    return conditionally(() =>
      client.send(
        new UpdateItemCommand({
          TableName: keysTable,
          Key: { pk: { S: pk } },
          UpdateExpression: update,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: names,
          ...(Object.keys(values).length > 0 && { ExpressionAttributeValues: values }),
        }),
      ),
    );
  };

  return {
    async createProject(project) {
      await putIfAbsent({
        pk: { S: PROJECT_PREFIX + project.name },
        name: { S: project.name },
        createdAt: { S: project.createdAt },
        ...stringAttr('limits', json(project.limits)),
        ...stringAttr('mode', project.mode),
        ...stringAttr('access', serializeAccess(project.access)),
      });
    },
    async getProject(name) {
      const item = await getItem(PROJECT_PREFIX + name);
      return item && toProject(item);
    },
    async listProjects() {
      return (await listByPrefix(PROJECT_PREFIX)).map(toProject).sort((a, b) => compareText(a.name, b.name));
    },
    async updateProject(name, patch) {
      return patchItem(PROJECT_PREFIX + name, { limits: jsonPatch(patch.limits), mode: patch.mode, access: accessPatch(patch.access) });
    },

    async createUser(user) {
      await putIfAbsent({
        pk: { S: USER_PREFIX + user.name },
        name: { S: user.name },
        createdAt: { S: user.createdAt },
        ...stringAttr('limits', json(user.limits)),
      });
    },
    async getUser(name) {
      const item = await getItem(USER_PREFIX + name);
      return item && toUser(item);
    },
    async listUsers() {
      return (await listByPrefix(USER_PREFIX)).map(toUser).sort((a, b) => compareText(a.name, b.name));
    },
    async updateUser(name, patch) {
      return patchItem(USER_PREFIX + name, { limits: jsonPatch(patch.limits) });
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
        ...stringAttr('user', key.user),
        ...stringAttr('name', key.name),
        ...stringAttr('disabledAt', key.disabledAt),
        ...stringAttr('expiresAt', key.expiresAt),
        ...stringAttr('blockedUntil', key.blockedUntil),
        ...stringAttr('limits', json(key.limits)),
        ...stringAttr('rateLimits', json(key.rateLimits)),
        ...stringAttr('access', serializeAccess(key.access)),
      });
      if (!created) throw new DuplicateKeyIdError(key.id);
    },
    async getKey(id) {
      const item = await getItem(KEY_PREFIX + id);
      return item && toKeyRecord(item);
    },
    async listKeys(filter) {
      return (await listByPrefix(KEY_PREFIX))
        .map(toKeyRecord)
        .filter((key) => (filter?.project === undefined || key.project === filter.project) && (filter?.user === undefined || key.user === filter.user))
        .sort((a, b) => compareText(a.createdAt, b.createdAt) || compareText(a.id, b.id));
    },
    async revokeKey(id, at) {
      return conditionally(() =>
        client.send(
          new UpdateItemCommand({
            TableName: keysTable,
            Key: { pk: { S: KEY_PREFIX + id } },
            UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :at)',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ':at': { S: at.toISOString() } },
          }),
        ),
      );
    },
    async updateKey(id, patch) {
      return patchItem(KEY_PREFIX + id, {
        disabledAt: patch.disabledAt,
        expiresAt: patch.expiresAt,
        blockedUntil: patch.blockedUntil,
        limits: jsonPatch(patch.limits),
        rateLimits: jsonPatch(patch.rateLimits),
        access: accessPatch(patch.access),
      });
    },

    async addProjectAccount(account) {
      return conditionally(() =>
        client.send(
          new UpdateItemCommand({
            TableName: keysTable,
            Key: { pk: { S: ACCOUNTS_PREFIX + account.project } },
            UpdateExpression: 'SET #project = :project, #account = :account',
            ConditionExpression: 'attribute_not_exists(#account)',
            ExpressionAttributeNames: { '#project': 'project', '#account': ACCOUNT_ATTRIBUTE + account.name },
            ExpressionAttributeValues: { ':project': { S: account.project }, ':account': { S: JSON.stringify(account) } },
          }),
        ),
      );
    },
    async listProjectAccounts(project) {
      const items = project === undefined ? await listByPrefix(ACCOUNTS_PREFIX) : [await getItem(ACCOUNTS_PREFIX + project)].filter((item) => item !== undefined);
      return items
        .flatMap(accountsOf)
        .sort((a, b) => compareText(a.project, b.project) || compareText(a.name, b.name));
    },
    async removeProjectAccount(project, name) {
      const attribute = ACCOUNT_ATTRIBUTE + name;
      let removed: Item | undefined;
      const done = await conditionally(async () => {
        const result = await client.send(
          new UpdateItemCommand({
            TableName: keysTable,
            Key: { pk: { S: ACCOUNTS_PREFIX + project } },
            UpdateExpression: 'REMOVE #account',
            ConditionExpression: 'attribute_exists(#account)',
            ExpressionAttributeNames: { '#account': attribute },
            ReturnValues: 'UPDATED_OLD',
          }),
        );
        removed = result.Attributes;
      });
      const body = done ? removed?.[attribute]?.S : undefined;
      return body === undefined ? undefined : (JSON.parse(body) as ProjectAccountRecord);
    },

    ...dynamoSpend(client, options.spendTable, { ...(options.uncappedShards !== undefined && { uncappedShards: options.uncappedShards }) }),

    async close() {
      // Nothing to release: the client belongs to the caller (see DynamoStoreOptions.client).
    },
  };
}

function stringAttr(name: string, value: string | undefined): Item {
  return value === undefined ? {} : { [name]: { S: value } };
}

function json(value: Limits | RateLimits | undefined): string | undefined {
  return value === undefined ? undefined : JSON.stringify(value);
}

function jsonPatch(value: Limits | RateLimits | null | undefined): string | null | undefined {
  return value === null ? null : json(value);
}

/** Lists that allow everything are removed, as {@link serializeAccess} never stores them. */
function accessPatch(value: AccessLists | null | undefined): string | null | undefined {
  return value === undefined ? undefined : (serializeAccess(value) ?? null);
}

function optionalAccess(item: Item, owner: string): AccessLists | undefined {
  const text = item['access']?.S;
  return text === undefined ? undefined : parseAccess(text, owner);
}

function optionalJson<T>(item: Item, attribute: string): T | undefined {
  const text = item[attribute]?.S;
  return text === undefined ? undefined : (JSON.parse(text) as T);
}

function toProject(item: Item): ProjectRecord {
  const limits = optionalJson<Limits>(item, 'limits');
  const mode = item['mode']?.S;
  const name = requiredString(item, 'name');
  const access = optionalAccess(item, `project ${name}`);
  return {
    name,
    createdAt: requiredString(item, 'createdAt'),
    ...(limits && { limits }),
    ...(mode !== undefined && { mode: mode === 'soft' ? 'soft' : 'strict' }),
    ...(access && { access }),
  };
}

function toUser(item: Item): UserRecord {
  const limits = optionalJson<Limits>(item, 'limits');
  return { name: requiredString(item, 'name'), createdAt: requiredString(item, 'createdAt'), ...(limits && { limits }) };
}

function accountsOf(item: Item): ProjectAccountRecord[] {
  return Object.entries(item).flatMap(([attribute, value]) =>
    attribute.startsWith(ACCOUNT_ATTRIBUTE) && value.S !== undefined ? [JSON.parse(value.S) as ProjectAccountRecord] : [],
  );
}

function toKeyRecord(item: Item): KeyRecord {
  const optional = (attribute: string) => item[attribute]?.S;
  const limits = optionalJson<Limits>(item, 'limits');
  const rateLimits = optionalJson<RateLimits>(item, 'rateLimits');
  const fields = { user: optional('user'), name: optional('name'), revokedAt: optional('revokedAt'), disabledAt: optional('disabledAt'), expiresAt: optional('expiresAt'), blockedUntil: optional('blockedUntil') };
  const id = requiredString(item, 'id');
  const access = optionalAccess(item, `key ${id}`);
  return {
    id,
    hash: requiredString(item, 'hash'),
    prefix: requiredString(item, 'prefix'),
    project: requiredString(item, 'project'),
    createdAt: requiredString(item, 'createdAt'),
    ...(Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<typeof fields>),
    ...(limits && { limits }),
    ...(rateLimits && { rateLimits }),
    ...(access && { access }),
  };
}
