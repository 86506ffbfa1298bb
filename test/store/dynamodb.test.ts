import { DescribeTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createTollgateTables, openDynamoStore, SpendWriteError } from '../../lambda/store/dynamodb';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { describeStoreContract } from './contract';

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.close();
});

describeStoreContract('dynamodb (dynalite)', async () => {
  const tables = await dynamo.createTables();
  return openDynamoStore({ client: dynamo.client, ...tables });
});

describe('createTollgateTables', () => {
  it('creates on-demand tables keyed by pk, and pk + sk for spend', async () => {
    // GIVEN freshly created tables
    const { keysTable, spendTable } = await dynamo.createTables();

    // WHEN they are described
    const keys = (await dynamo.client.send(new DescribeTableCommand({ TableName: keysTable }))).Table;
    const spend = (await dynamo.client.send(new DescribeTableCommand({ TableName: spendTable }))).Table;

    // THEN they have the schema the store relies on
    expect(keys?.TableStatus).toBe('ACTIVE');
    expect(keys?.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(keys?.AttributeDefinitions).toEqual([{ AttributeName: 'pk', AttributeType: 'S' }]);
    expect(keys?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(spend?.TableStatus).toBe('ACTIVE');
    expect(spend?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(spend?.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ]),
    );
    expect(spend?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
  });

  it('leaves existing tables alone when run again', async () => {
    // GIVEN tables holding data
    const tables = await dynamo.createTables();
    const store = openDynamoStore({ client: dynamo.client, ...tables });
    await store.createProject({ name: 'acme', createdAt: '2026-11-27T10:00:00.000Z' });

    // WHEN they are created a second time
    await createTollgateTables(dynamo.client, tables);

    // THEN nothing is lost
    expect(await store.getProject('acme')).toEqual({ name: 'acme', createdAt: '2026-11-27T10:00:00.000Z' });
  });
});

describe('dynamodb store specifics', () => {
  it('finds spend by id alone, across kinds, and keeps ids containing #', async () => {
    // GIVEN spend on scopes that share an id, one of them with a # in it
    const store = openDynamoStore({ client: dynamo.client, ...(await dynamo.createTables()) });
    const r = {
      id: 'r1',
      at: new Date('2026-11-27T12:00:00Z'),
      scopes: [
        { kind: 'user', id: 'ada' },
        { kind: 'key', id: 'ada' },
        { kind: 'project', id: 'ada#2' },
      ] as const,
      claims: [],
      estimateNanos: 5,
      expiresAt: new Date('2026-11-27T12:15:00Z'),
    };
    await store.reserve(r);
    await store.settle(r, 5);

    // WHEN it is queried by id only
    const byId = await store.getSpend({ id: 'ada' });

    // THEN both kinds come back, sorted by kind, and the # id round-trips
    expect(byId.map((c) => c.scope.kind)).toEqual([...Array(4).fill('key'), ...Array(4).fill('user')]);
    expect((await store.getSpend({ kind: 'project' }))[0]?.scope).toEqual({ kind: 'project', id: 'ada#2' });
  });

  it('names the counters that did not move when a write fails part-way', async () => {
    // GIVEN a client on which every write to the lifetime counter fails before reaching the table
    const tables = await dynamo.createTables();
    const flaky = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: dynamo.endpoint,
      credentials: { accessKeyId: 'tollgate-test', secretAccessKey: 'tollgate-test' },
    });
    let lifetimeWrites = 0;
    flaky.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: { sk?: { S?: string } } };
        if (context.commandName === 'UpdateItemCommand' && input.Key?.sk?.S === 'lifetime') {
          lifetimeWrites++;
          throw new Error('connection reset');
        }
        return next(args);
      },
      { step: 'initialize' },
    );
    const store = openDynamoStore({ client: flaky, ...tables });

    try {
      // WHEN a request is settled
      const r = { id: 'r1', at: new Date('2026-11-27T12:00:00Z'), scopes: [{ kind: 'key', id: 'k1' }] as const, claims: [], estimateNanos: 7, expiresAt: new Date('2026-11-27T12:15:00Z') };
      await store.reserve(r);
      const error = await store.settle(r, 7).catch((e: unknown) => e);

      // THEN the write was retried, and the error names exactly the counter that stayed put
      expect(error).toBeInstanceOf(SpendWriteError);
      expect((error as SpendWriteError).failed.map((f) => f.period)).toEqual(['lifetime']);
      expect((error as SpendWriteError).attempted).toBe(4);
      expect(lifetimeWrites).toBe(3);
      expect((await store.getSpend()).map((c) => c.period)).toEqual(['day:2026-11-27', 'month:2026-11', 'week:2026-11-23']);
    } finally {
      flaky.destroy();
    }
  });

  it('refuses to round a counter beyond the safe integer range', async () => {
    // GIVEN a counter that has grown past 2^53 (DynamoDB numbers hold 38 digits)
    const tables = await dynamo.createTables();
    await dynamo.client.send(
      new PutItemCommand({
        TableName: tables.spendTable,
        Item: { pk: { S: 'key#k1' }, sk: { S: 'lifetime' }, nanos: { N: '9007199254740993' }, requests: { N: '1' } },
      }),
    );
    const store = openDynamoStore({ client: dynamo.client, ...tables });

    // WHEN it is read THEN it fails loudly rather than returning a wrong total
    await expect(store.getSpend()).rejects.toThrow(RangeError);
  });
});
