import { startLocalGateway } from '../../lambda/app/local-gateway';
import { parseConfig } from '../../lambda/config/config';
import { silentLogger } from '../../lambda/core/log';
import { issueKey } from '../../lambda/keys/issue-key';
import { openSqliteStore } from '../../lambda/store/sqlite';
import { json, run, tempDir } from '../cli/run';
import { startFakeOpenAI, UPSTREAM_KEY, type FakeOpenAI } from '../support/fake-openai';
import { startFakePriceSource, type FakePriceSource } from '../lambda/support/aws-fakes';
import { samplePriceData, withPrice } from './price-data';

describe('tollgate prices refresh, and the local server using what it stored', () => {
  let source: FakePriceSource;
  let upstream: FakeOpenAI;
  let dir: ReturnType<typeof tempDir>;

  beforeAll(async () => {
    source = await startFakePriceSource(JSON.stringify(withPrice(samplePriceData(), 'openai', 'gpt-4o', { input_mtok: 1000, output_mtok: 1000 })));
    upstream = await startFakeOpenAI();
    dir = tempDir('tollgate-prices-cli-');
  });
  afterAll(async () => {
    await source.close();
    await upstream.close();
    dir.remove();
  });

  const env = () => ({ TOLLGATE_DATA_DIR: dir.path });

  it('says there is no stored copy before the first refresh', async () => {
    // WHEN
    const result = await run(['prices', 'status', '--json'], env(), { cwd: dir.path });

    // THEN
    expect(result.code).toBe(0);
    expect(json(result)).toEqual({ stored: false });
  });

  it('refreshes into the data directory, then reports the stored copy', async () => {
    // WHEN
    const refreshed = await run(['prices', 'refresh', '--url', source.url], env(), { cwd: dir.path });
    const status = await run(['prices', 'status', '--json'], env(), { cwd: dir.path });

    // THEN
    expect(refreshed).toMatchObject({ code: 0, stderr: '' });
    expect(refreshed.stdout).toMatch(/^Stored new price data: \d+ providers, \d+ models/);
    expect(json(status)).toMatchObject({ stored: true, source: source.url, valid: true });
  });

  it('keeps the stored copy and exits 1 when the source serves bad data', async () => {
    // GIVEN
    const good = source.body;
    source.body = '[]';

    // WHEN
    const result = await run(['prices', 'refresh', '--url', source.url], env(), { cwd: dir.path });
    source.body = good;

    // THEN
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^tollgate: rejected the price data: .*no providers; the copy fetched .* is kept\n$/);
    expect(json<{ valid: boolean }>(await run(['prices', 'status', '--json'], env(), { cwd: dir.path })).valid).toBe(true);
  });

  it('rejects a --url that is not a URL as bad usage', async () => {
    const result = await run(['prices', 'refresh', '--url', 'nope'], env(), { cwd: dir.path });
    expect(result).toMatchObject({ code: 2, stderr: expect.stringContaining('--url must be a URL') });
  });

  it('makes npm start price with the stored copy', async () => {
    // GIVEN the stored data prices gpt-4o at $1000 per million tokens
    const store = openSqliteStore({ dataDir: ':memory:' });
    const { key } = await issueKey(store, { project: 'acme' });
    const gateway = await startLocalGateway({
      store,
      config: parseConfig({ providers: { openai: { baseUrl: upstream.baseUrl } } }, 'test'),
      env: { ...env(), OPENAI_API_KEY: UPSTREAM_KEY },
      port: 0,
      logger: silentLogger,
    });
    try {
      // WHEN
      const response = await fetch(`${gateway.url}/proxy/openai/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }),
      });
      await response.arrayBuffer();

      // THEN 2016 tokens at $1000 per million
      expect(response.headers.get('x-tollgate-cost-usd')).toBe('2.016');
    } finally {
      await gateway.close();
      await store.close();
    }
  });
});
