import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requiredPricingIds } from '../../lambda/prices/apply';
import { filePriceStore, PRICE_FILE } from '../../lambda/prices/file-store';
import { MAX_PRICE_DATA_BYTES, refreshPrices } from '../../lambda/prices/refresh';
import { sha256Hex } from '../../lambda/prices/store';
import { tempDir } from '../cli/run';
import { startFakePriceSource, type FakePriceSource } from '../lambda/support/aws-fakes';
import { samplePriceData, withPrice } from './price-data';

describe('refreshPrices, with a fake price URL and the local file store', () => {
  let source: FakePriceSource;
  let dir: ReturnType<typeof tempDir>;
  let now: Date;
  const good = JSON.stringify(samplePriceData());

  beforeAll(async () => {
    source = await startFakePriceSource(good);
  });
  afterAll(async () => source.close());
  beforeEach(() => {
    dir = tempDir('tollgate-prices-');
    source.status = 200;
    source.body = good;
    now = new Date('2026-11-27T08:00:00Z');
  });
  afterEach(() => dir.remove());

  const refresh = (url = source.url) =>
    refreshPrices({ store: filePriceStore(dir.path), url, requiredProviders: requiredPricingIds(), clock: () => now, timeoutMs: 2_000 });
  const stored = () => readFileSync(join(dir.path, PRICE_FILE));

  it('stores good data as fetched, with its hash and times', async () => {
    // WHEN
    const result = await refresh();

    // THEN
    expect(result).toMatchObject({ kind: 'updated', providers: requiredPricingIds().length, bytes: Buffer.byteLength(good) });
    expect(stored().toString('utf8')).toBe(good);
    expect(await filePriceStore(dir.path).head()).toEqual({ sha256: sha256Hex(Buffer.from(good)), source: source.url, fetchedAt: '2026-11-27T08:00:00.000Z', checkedAt: '2026-11-27T08:00:00.000Z' });
  });

  it('only moves checkedAt when the source serves the same bytes again', async () => {
    // GIVEN
    await refresh();
    now = new Date('2026-11-27T09:00:00Z');

    // WHEN
    const result = await refresh();

    // THEN
    expect(result.kind).toBe('unchanged');
    expect(await filePriceStore(dir.path).head()).toMatchObject({ fetchedAt: '2026-11-27T08:00:00.000Z', checkedAt: '2026-11-27T09:00:00.000Z' });
  });

  it.each<[string, (s: FakePriceSource) => void, 'rejected' | 'unreachable', RegExp]>([
    ['invalid data', (s) => (s.body = JSON.stringify(withPrice(samplePriceData(), 'openai', 'gpt-4o', { input_mtok: -5, output_mtok: 1 }))), 'rejected', /input_mtok: must be a finite number/],
    ['data missing a provider', (s) => (s.body = JSON.stringify(samplePriceData().filter((p) => p.id !== 'anthropic'))), 'rejected', /provider "anthropic" is missing/],
    ['an HTML error page', (s) => (s.body = '<html>429</html>'), 'rejected', /not JSON/],
    ['an HTTP error', (s) => (s.status = 503), 'unreachable', /HTTP 503/],
    ['an oversized file', (s) => (s.body = Buffer.alloc(MAX_PRICE_DATA_BYTES + 1, 32)), 'unreachable', /more than the/],
  ])('rejects %s and keeps the old copy byte for byte', async (_case, breakIt, kind, reason) => {
    // GIVEN a good copy stored earlier
    await refresh();
    const before = stored();
    const meta = await filePriceStore(dir.path).head();

    // WHEN the source goes bad
    breakIt(source);
    now = new Date('2026-11-28T08:00:00Z');
    const result = await refresh();

    // THEN
    expect(result).toMatchObject({ kind, reason: expect.stringMatching(reason), kept: meta });
    expect(stored().equals(before)).toBe(true);
    expect(await filePriceStore(dir.path).head()).toEqual(meta);
  });

  it('reports an unreachable source with nothing kept when there was never a copy', async () => {
    // WHEN the URL points at a port nobody listens on
    const result = await refresh('http://127.0.0.1:9/data.json');

    // THEN
    expect(result).toMatchObject({ kind: 'unreachable', kept: undefined });
  });
});
