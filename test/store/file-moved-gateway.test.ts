import Database from 'better-sqlite3';
import { mkdtempSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { openSqliteStore } from '../../lambda/store/sqlite';
import { gate, within } from '../support/gate';
import { startHarness, type Harness } from '../support/harness';
import { recordingLogger } from '../support/recording-logger';

const CHAT = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'Hi' }] };

/**
 * The gateway on a real SQLite file, which is then deleted or replaced under it: the store must
 * notice and fail closed, so that no request is forwarded whose spend nothing will keep.
 */
describe('a gateway whose SQLite file is deleted or replaced while it runs', () => {
  let dir: string;
  let harness: Harness;
  let logger: ReturnType<typeof recordingLogger>;
  let client: OpenAI;
  const file = () => join(dir, 'data', 'tollgate.db');

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-moved-'));
    logger = recordingLogger();
    harness = await startHarness({ store: openSqliteStore({ dataDir: join(dir, 'data') }), logger });
    const { key } = await harness.issue();
    // maxRetries 0: each call below is exactly one request to the gateway
    client = new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/openai`, maxRetries: 0 });
    // GIVEN a gateway that has served a metered request (its key is now cached, its writer thread started)
    await client.chat.completions.create(CHAT);
    await harness.waitForSpend((counters) => counters.some((c) => c.period === 'lifetime' && c.nanos > 0));
    harness.upstream.reset();
    logger.lines.length = 0;
  });
  afterEach(async () => {
    await harness.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function expectRefusedUnforwarded(happened: RegExp): Promise<void> {
    const error = await client.chat.completions.create(CHAT).catch((e: unknown) => e);

    // THEN a 503 in OpenAI's error shape, without the server's paths in it
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    const apiError = error as InstanceType<typeof OpenAI.InternalServerError>;
    expect(apiError.status).toBe(503);
    expect(apiError.error).toMatchObject({ code: 'store_unavailable' });
    expect(JSON.stringify(apiError.error)).not.toContain(dir);
    // AND nothing reached the provider
    expect(harness.upstream.requests).toHaveLength(0);
    // AND the log says what happened and what to do
    const logged = logger.lines.find((line) => line.event === 'store_unavailable' && happened.test(String(line.fields['message'])));
    expect(logged?.fields['message']).toMatch(/restart tollgate/i);
  }

  it('refuses the next metered request once the file is deleted, and forwards nothing', async () => {
    // WHEN
    unlinkSync(file());

    // THEN
    await expectRefusedUnforwarded(new RegExp(`The store's file ${file()} was deleted`));
  });

  it('refuses the next metered request once another database is renamed over the file', async () => {
    // WHEN
    const other = join(dir, 'other.db');
    const db = new Database(other);
    db.exec('CREATE TABLE t (x)');
    db.close();
    renameSync(other, file());

    // THEN
    await expectRefusedUnforwarded(new RegExp(`The store's file ${file()} was replaced by another file`));
  });

  it('logs the settlement of a request in flight as failed, with its amount, instead of losing it silently', async () => {
    // GIVEN a streamed request reserved and forwarded, its upstream holding the rest of the stream
    const rest = gate();
    harness.upstream.behaviour.holdAfterFirstChunk = rest.promise;
    const stream = await client.chat.completions.create({ ...CHAT, stream: true });
    const reading = (async () => {
      let chunks = 0;
      for await (const _ of stream) chunks++;
      return chunks;
    })();
    await within(
      (async () => {
        while (harness.upstream.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      })(),
      5_000,
      'the request never reached the upstream',
    );

    // WHEN the file is deleted before the response ends
    unlinkSync(file());
    rest.open();

    // THEN the client gets its whole stream, and the settlement that cannot be kept is logged loudly
    expect(await reading).toBeGreaterThan(1);
    const failed = await within(
      (async () => {
        for (;;) {
          const line = logger.lines.find((l) => l.event === 'spend_write_failed' || l.event === 'request_settled');
          if (line) return line;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })(),
      5_000,
      'the settlement was never logged',
    );
    expect(failed.event).toBe('spend_write_failed');
    expect(failed.fields['nanos']).toBeGreaterThan(0);
    expect(String(failed.fields['message'])).toMatch(/was deleted/);
  });
});
