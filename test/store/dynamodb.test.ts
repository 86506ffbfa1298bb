import { DescribeTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createTollgateTables, openDynamoStore, SpendWriteError } from '../../lambda/store/dynamodb';
import { serializeReservation } from '../../lambda/store/counters';
import { scanAll } from '../../lambda/store/dynamodb-items';
import { dynamoSpend } from '../../lambda/store/dynamodb-spend';
import type { Claim } from '../../lambda/store/port';
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
    // GIVEN a client on which every write to the user's counter fails before reaching the table
    const tables = await dynamo.createTables();
    const flaky = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: dynamo.endpoint,
      credentials: { accessKeyId: 'tollgate-test', secretAccessKey: 'tollgate-test' },
    });
    let userWrites = 0;
    flaky.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: { pk?: { S?: string } } };
        if (context.commandName === 'UpdateItemCommand' && input.Key?.pk?.S === 'user#ada') {
          userWrites++;
          throw new Error('connection reset');
        }
        return next(args);
      },
      { step: 'initialize' },
    );
    const store = openDynamoStore({ client: flaky, ...tables });

    try {
      // WHEN a request is settled
      const scopes = [
        { kind: 'key', id: 'k1' },
        { kind: 'project', id: 'acme' },
        { kind: 'user', id: 'ada' },
      ] as const;
      const r = { id: 'r1', at: new Date('2026-11-27T12:00:00Z'), scopes, claims: [], estimateNanos: 7, expiresAt: new Date('2026-11-27T12:15:00Z') };
      await store.reserve(r);
      const error = await store.settle(r, 7).catch((e: unknown) => e);

      // THEN the write was retried, and the error names exactly the counter that stayed put
      expect(error).toBeInstanceOf(SpendWriteError);
      expect((error as SpendWriteError).failed.map(({ kind, id, period }) => ({ kind, id, period }))).toEqual([{ kind: 'user', id: 'ada', period: 'day:2026-11-27' }]);
      expect((error as SpendWriteError).attempted).toBe(3);
      expect(userWrites).toBe(3);
      expect([...new Set((await store.getSpend()).map((c) => c.scope.kind))]).toEqual(['key', 'project']);
    } finally {
      flaky.destroy();
    }
  });

  it('reads week, month and lifetime from day counters only: per-period items an older version wrote are left out', async () => {
    // GIVEN an older version's counters for a scope (a day, and the periods it also wrote), and a request settled now
    const tables = await dynamo.createTables();
    const old = (sk: string) => new PutItemCommand({ TableName: tables.spendTable, Item: { pk: { S: 'project#acme' }, sk: { S: sk }, nanos: { N: '100' }, committed: { N: '100' }, requests: { N: '1' } } });
    for (const sk of ['day:2026-11-26', 'week:2026-11-23', 'month:2026-11', 'lifetime']) await dynamo.client.send(old(sk));
    const store = openDynamoStore({ client: dynamo.client, ...tables });
    const r = { id: 'r1', at: new Date('2026-11-27T12:00:00Z'), scopes: [{ kind: 'project', id: 'acme' }] as const, claims: [], estimateNanos: 5, expiresAt: new Date('2026-11-27T12:15:00Z') };
    await store.reserve(r);
    await store.settle(r, 5);

    // THEN each period is its days' sum, counted once
    const counters = await store.getSpend({ kind: 'project', id: 'acme' });
    expect(counters.map((c) => [c.period, c.nanos, c.requests])).toEqual([
      ['day:2026-11-26', 100, 1],
      ['day:2026-11-27', 5, 1],
      ['lifetime', 105, 2],
      ['month:2026-11', 105, 2],
      ['week:2026-11-23', 105, 2],
    ]);
  });

  it('settles a reservation an older version recorded on the per-period counters it claimed', async () => {
    // GIVEN an older version's reservation (no layout marker) holding 700 on a monthly cap counter and an in-flight slot
    const tables = await dynamo.createTables();
    const key = { kind: 'key', id: 'k1' } as const;
    const reservation = {
      id: 'old-1',
      at: new Date('2026-11-27T10:00:00Z'),
      scopes: [key],
      claims: [
        { scope: key, period: 'month:2026-11', unit: 'nanos', amount: 700, limit: 1_000, rule: 'within' },
        { scope: key, period: 'inflight', unit: 'inflight', amount: 1, limit: 1, rule: 'within' },
      ] as const,
      estimateNanos: 700,
      expiresAt: new Date('2026-11-27T10:20:00Z'),
    };
    const put = (pk: string, sk: string, committed: number) => new PutItemCommand({ TableName: tables.spendTable, Item: { pk: { S: pk }, sk: { S: sk }, committed: { N: String(committed) } } });
    await dynamo.client.send(put('key#k1', 'month:2026-11', 700));
    await dynamo.client.send(put('key#k1', 'inflight', 1));
    // What an older version wrote: the reservation body, without the layout attribute.
    const shard = [...'old-1'].reduce((hash, c) => (hash * 31 + c.charCodeAt(0)) >>> 0, 0) % 8;
    await dynamo.client.send(new PutItemCommand({ TableName: tables.spendTable, Item: { pk: { S: `reservations#${shard}` }, sk: { S: `2026-11-27T10:20:00.000Z#old-1` }, body: { S: serializeReservation(reservation) } } }));
    const store = openDynamoStore({ client: dynamo.client, ...tables });

    // WHEN the new version settles it (the request's own settlement, or the reconciler's)
    expect(await store.settle(reservation, 250)).toBe(true);

    // THEN the counters it claimed are released where they were, and the spend is recorded
    const item = async (pk: string, sk: string) =>
      (await dynamo.client.send(new GetItemCommand({ TableName: tables.spendTable, Key: { pk: { S: pk }, sk: { S: sk } }, ConsistentRead: true }))).Item;
    expect((await item('key#k1', 'month:2026-11'))?.['committed']?.N).toBe('250');
    expect((await item('key#k1', 'inflight'))?.['committed']?.N).toBe('0');
    expect((await store.getSpend({ kind: 'key', id: 'k1' })).find((c) => c.period === 'lifetime')).toMatchObject({ nanos: 250, requests: 1, reservedNanos: 0 });
  });

  it('sharded: uncapped settlements spread over partition keys, and a cap set later counts them within a minute', async () => {
    // GIVEN a store that shards uncapped settlements, on a clock the test moves
    const tables = await dynamo.createTables();
    let now = Date.parse('2026-11-27T10:00:00Z');
    const store = dynamoSpend(dynamo.client, tables.spendTable, { uncappedShards: 4, clock: () => now });
    const project = { kind: 'project', id: 'acme' } as const;
    const request = (i: number, claims: Claim[] = []) => ({
      id: `r${i}`,
      at: new Date('2026-11-27T10:00:00Z'),
      scopes: [project],
      claims,
      estimateNanos: claims[0]?.amount ?? 10,
      expiresAt: new Date('2026-11-27T10:20:00Z'),
    });
    const cap = (amount: number): Claim => ({ scope: project, period: 'month:2026-11', unit: 'nanos', amount, limit: 1_000, rule: 'within' });
    // A claim before any spend: the store reads (and caches) the rest of the month now.
    const first = request(0, [cap(10)]);
    expect(await store.reserve(first)).toMatchObject({ ok: true });
    await store.settle(first, 10);

    // WHEN 40 requests without a claim settle 10 each
    for (let i = 1; i <= 40; i++) {
      const r = request(i);
      await store.reserve(r);
      await store.settle(r, 10);
    }

    // THEN they were spread over the shards, and the totals count every one
    const pks = await scanAll(dynamo.client, { TableName: tables.spendTable, FilterExpression: 'begins_with(sk, :day)', ExpressionAttributeValues: { ':day': { S: 'day:' } } });
    expect(pks.map((item) => item['pk']?.S).sort()).toEqual(['project#acme', 'project.1#acme', 'project.2#acme', 'project.3#acme']);
    expect((await store.getSpend({ kind: 'project', id: 'acme' })).find((c) => c.period === 'month:2026-11')).toMatchObject({ nanos: 410, requests: 41 });
    // AND a capped request sees them once its cached view of the other shards is a minute old: 410 spent, 590 left
    now += 60_000;
    expect(await store.reserve(request(50, [cap(591)]))).toEqual({ ok: false, refused: cap(591) });
    // AND its standing counts them: the other shards' 400, its own counter's 10 and the 590 it holds
    expect(await store.reserve(request(51, [cap(590)]))).toEqual({ ok: true, standing: [{ used: 1_000, remaining: 0 }] });
  });

  it('refuses to round a counter beyond the safe integer range', async () => {
    // GIVEN a counter that has grown past 2^53 (DynamoDB numbers hold 38 digits)
    const tables = await dynamo.createTables();
    await dynamo.client.send(
      new PutItemCommand({
        TableName: tables.spendTable,
        Item: { pk: { S: 'key#k1' }, sk: { S: 'day:2026-11-27' }, nanos: { N: '9007199254740993' }, requests: { N: '1' } },
      }),
    );
    const store = openDynamoStore({ client: dynamo.client, ...tables });

    // WHEN it is read THEN it fails loudly rather than returning a wrong total
    await expect(store.getSpend()).rejects.toThrow(RangeError);
  });
});
