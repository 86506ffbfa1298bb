import { CreateTableCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { randomBytes } from 'node:crypto';
import { runPriceRefresh } from '../../lambda/handlers/price-refresh';
import { publishedMetrics } from '../../lambda/observability/catalog';
import { dynamoPriceStore, MAX_STORED_PRICE_BYTES } from '../../lambda/prices/dynamodb-store';
import type { PriceStore } from '../../lambda/prices/store';
import { startDynalite, type LocalDynamo } from '../support/dynalite';
import { startFakePriceSource, type FakePriceSource } from '../lambda/support/aws-fakes';
import { samplePriceData } from './price-data';

interface RefreshLine {
  readonly event: string;
  readonly outcome: string;
  readonly PriceRefreshFailures?: number;
  readonly PriceDataAgeHours?: number;
  readonly _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> };
}

describe('the price refresher on DynamoDB', () => {
  let dynamo: LocalDynamo;
  let source: FakePriceSource;
  let store: PriceStore;
  let table: string;
  let tables = 0;
  const good = JSON.stringify(samplePriceData());

  beforeAll(async () => {
    dynamo = await startDynalite();
    source = await startFakePriceSource(good);
  });
  afterAll(async () => {
    await source.close();
    await dynamo.close();
  });
  beforeEach(async () => {
    table = `prices-${++tables}`;
    await dynamo.client.send(
      new CreateTableCommand({ TableName: table, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] }),
    );
    store = dynamoPriceStore({ client: dynamo.client, table });
    source.status = 200;
    source.body = good;
  });

  const run = async (at: string): Promise<RefreshLine> => {
    const lines: string[] = [];
    await runPriceRefresh({ store, url: source.url, namespace: 'Tollgate', write: (line) => lines.push(line), clock: () => new Date(at) });
    expect(lines).toHaveLength(1);
    return JSON.parse(lines[0]!) as RefreshLine;
  };

  it('stores the data gzipped in one item well under the 400 KB limit, and reads it back exactly', async () => {
    // WHEN
    const line = await run('2026-11-27T08:00:00Z');

    // THEN
    expect(line).toMatchObject({ event: 'price_refresh', outcome: 'updated', PriceRefreshFailures: 0, PriceDataAgeHours: 0 });
    const item = (await dynamo.client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'genai-prices' } } }))).Item!;
    const gzipped = item['data']!.B!.byteLength;
    process.stderr.write(`price data: ${Buffer.byteLength(good)} bytes of JSON, ${gzipped} bytes gzipped in DynamoDB\n`);
    expect(gzipped).toBeLessThan(MAX_STORED_PRICE_BYTES / 3);
    expect((await store.load())!.data.toString('utf8')).toBe(good);
    expect(await store.head()).toMatchObject({ source: source.url, checkedAt: '2026-11-27T08:00:00.000Z' });
  });

  it('keeps the old copy on bad data and publishes a failure and the copy\'s growing age', async () => {
    // GIVEN a copy stored at 08:00
    await run('2026-11-27T08:00:00Z');
    const before = await store.load();

    // WHEN the source serves garbage at 13:00
    source.body = '{"not": "prices"}';
    const line = await run('2026-11-27T13:00:00Z');

    // THEN
    expect(line).toMatchObject({ outcome: 'rejected', PriceRefreshFailures: 1, PriceDataAgeHours: 5, sha256: before!.sha256 });
    expect((await store.load())!.data.equals(before!.data)).toBe(true);
    for (const directive of line._aws.CloudWatchMetrics) {
      for (const metric of directive.Metrics) expect(publishedMetrics()).toContain(`${metric.Name}|${directive.Dimensions[0]!.join(',')}`);
    }
  });

  it('publishes no age at all when there has never been a copy, which the stale alarm treats as breaching', async () => {
    // GIVEN
    source.status = 500;

    // WHEN
    const line = await run('2026-11-27T08:00:00Z');

    // THEN
    expect(line).toMatchObject({ outcome: 'unreachable', PriceRefreshFailures: 1 });
    expect(line).not.toHaveProperty('PriceDataAgeHours');
    expect(line._aws.CloudWatchMetrics[0]!.Metrics.map((m) => m.Name)).toEqual(['PriceRefreshFailures']);
  });

  it('refuses data too large for one item instead of failing half-way', async () => {
    // GIVEN incompressible bytes over the limit
    const data = randomBytes(MAX_STORED_PRICE_BYTES + 1024);

    // THEN
    await expect(store.save({ data, sha256: 'x', source: 's', fetchedAt: 't', checkedAt: 't' })).rejects.toThrow(/it needs S3/);
    expect(await store.head()).toBeUndefined();
  });

  it('confirms only the copy it checked: a newer copy keeps its own checkedAt', async () => {
    // GIVEN
    await run('2026-11-27T08:00:00Z');
    const meta = (await store.head())!;

    // WHEN a slow refresher confirms a hash that is no longer the stored one
    await store.confirm('an-older-hash', '2026-11-27T09:00:00.000Z');

    // THEN
    expect(await store.head()).toEqual(meta);
  });
});
