import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { planReservation, type Policy } from '../../lambda/limits/plan';
import { openDynamoStore } from '../../lambda/store/dynamodb';
import type { KeyRecord, Store } from '../../lambda/store/port';
import { startRecordingProxy, type Listening } from '../lambda/support/aws-fakes';
import { startDynalite, type LocalDynamo } from '../support/dynalite';

/**
 * The spend table's write load, counted on the wire (a recording proxy in front of dynalite): what
 * one request costs in writes, and the most of them that land on one partition key — DynamoDB
 * serves at most 1,000 write units a second per partition, so that number sets how many requests a
 * second one project (or key, or user) can make in one region.
 */
describe('the DynamoDB counter layout: writes per request', () => {
  let dynamo: LocalDynamo;
  let recorder: Listening;
  let client: DynamoDBClient;

  beforeAll(async () => {
    dynamo = await startDynalite();
    recorder = await startRecordingProxy(dynamo.endpoint);
    client = new DynamoDBClient({ region: 'us-east-1', endpoint: recorder.endpoint, credentials: { accessKeyId: 'tollgate-test', secretAccessKey: 'tollgate-test' } });
  });
  afterAll(async () => {
    client.destroy();
    await recorder.close();
    await dynamo.close();
  });

  const key: KeyRecord = { id: 'k1', hash: 'a'.repeat(64), prefix: 'tgk_k1', project: 'acme', user: 'ada', createdAt: '2026-11-27T10:00:00.000Z' };
  const at = new Date('2026-11-27T10:00:00Z');
  const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

  /** Reserves and settles `requests` requests one after another, and counts what reached the spend table per request. */
  async function measure(policy: Policy, options: { uncappedShards?: number } = {}, requests = 20) {
    const tables = await dynamo.createTables();
    const store: Store = openDynamoStore({ client, ...tables, ...options });
    // One request first: a store's first claim on a scope reads the scope's earlier days (cached after).
    const warm = planReservation(policy, 1_000, at, 1_200_000, { name: 'openai' });
    expect(await store.reserve(warm)).toMatchObject({ ok: true });
    await store.settle(warm, 500);
    const from = recorder.calls.length;
    for (let i = 0; i < requests; i++) {
      const reservation = planReservation(policy, 1_000, new Date(at.getTime() + i), 1_200_000, { name: 'openai' });
      expect(await store.reserve(reservation)).toMatchObject({ ok: true });
      expect(await store.settle(reservation, 500)).toBe(true);
    }
    const calls = recorder.calls.slice(from).filter((call) => call.body.includes(tables.spendTable));
    const writes = calls.filter((call) => WRITES.has(call.target.replace('DynamoDB_20120810.', '')));
    const perPartition = new Map<string, number>();
    for (const call of writes) {
      const pk = (JSON.parse(call.body) as { Key?: { pk?: { S?: string } }; Item?: { pk?: { S?: string } } });
      const name = pk.Key?.pk?.S ?? pk.Item?.pk?.S ?? '?';
      perPartition.set(name, (perPartition.get(name) ?? 0) + 1);
    }
    const hottest = [...perPartition.entries()].sort((a, b) => b[1] - a[1])[0]!;
    return {
      writes: writes.length / requests,
      reads: (calls.length - writes.length) / requests,
      hottest: { pk: hottest[0], writes: hottest[1] / requests },
      total: (await store.getSpend({ kind: 'project', id: 'acme' })).find((c) => c.period === 'lifetime'),
    };
  }

  const project = { name: 'acme', createdAt: key.createdAt };
  const user = { name: 'ada', createdAt: key.createdAt };
  const report = (name: string, m: Awaited<ReturnType<typeof measure>>) =>
    process.stderr.write(`${name}: ${m.writes} writes and ${m.reads} reads per request; hottest partition ${m.hottest.pk}: ${m.hottest.writes} writes per request\n`);

  // Before the day-counter layout (measured the same way): 14 writes a request with no caps, 4 of
  // them on one partition; 15 and 5 with a monthly project cap; 29 and 11 with every cap and limit.

  it('no caps: the reservation record, its deletion, and one counter per scope', async () => {
    const m = await measure({ key, project, user });
    report('no caps', m);
    expect(m.total).toMatchObject({ nanos: 21 * 500, requests: 21 });
    expect(m.writes).toBe(5);
    expect(m.reads).toBe(0);
    expect(m.hottest.writes).toBe(1);
  });

  it('no caps, sharded: each scope\'s one write a request spread over 4 partition keys', async () => {
    const m = await measure({ key, project, user }, { uncappedShards: 4 }, 40);
    report('no caps, 4 shards', m);
    expect(m.total).toMatchObject({ nanos: 41 * 500, requests: 41 });
    expect(m.writes).toBe(5);
    // A quarter each on average; 40 requests hashed over 4 shards leave some slack.
    expect(m.hottest.writes).toBeLessThanOrEqual(0.5);
  });

  it('a monthly project cap: one claim and one settlement on the project\'s day counter', async () => {
    const m = await measure({ key, project: { ...project, limits: { monthly: 1_000_000_000 } }, user });
    report('project monthly cap', m);
    expect(m.total).toMatchObject({ nanos: 21 * 500, requests: 21, reservedNanos: 0 });
    expect(m.writes).toBe(6);
    expect(m.hottest).toEqual({ pk: 'project#acme', writes: 2 });
  });

  it('caps on every scope and period, a request rate and a concurrency limit: still two writes on any one scope\'s counter', async () => {
    const limits = { daily: 1_000_000_000, weekly: 1_000_000_000, monthly: 1_000_000_000, lifetime: 1_000_000_000 };
    const m = await measure({ key: { ...key, limits, rateLimits: { requestsPerMinute: 1_000, concurrent: 10 } }, project: { ...project, limits }, user: { ...user, limits } });
    report('every cap, rpm and concurrency', m);
    expect(m.total).toMatchObject({ nanos: 21 * 500, requests: 21, reservedNanos: 0 });
    // record + delete, a claim and a settlement per scope, the rate claim, the in-flight claim and its release
    expect(m.writes).toBe(11);
    // The key's rate partition takes the three rate writes; every spend counter two.
    expect(m.hottest).toEqual({ pk: 'key.rate#k1', writes: 3 });
  });
});
