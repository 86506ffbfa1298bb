import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { reconcileExpired } from '../../lambda/limits/reconciler';
import { silentLogger } from '../../lambda/core/log';
import type { Store } from '../../lambda/store/port';
import { openSqliteStore } from '../../lambda/store/sqlite';
import { ANTHROPIC_UPSTREAM_KEY, startFakeAnthropic, type FakeAnthropic } from '../support/fake-anthropic';
import { startHarness, type Harness } from '../support/harness';
import { recordingLogger } from '../support/recording-logger';

type Operation = 'reserve' | 'settle' | 'release' | 'getKey';

/**
 * An in-memory SQLite store whose named operations throw, as a dead writer or a DynamoDB error
 * would; those in `lost` throw after they took effect, as a write whose answer was lost; those in
 * `flaky` throw as many times as they say, then work.
 */
function failingStore(failing: Set<Operation>, lost: Set<Operation> = new Set(), flaky: Map<Operation, number> = new Map()): Store {
  const store = openSqliteStore({ dataDir: ':memory:' });
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      const failure = () => new Error(`SQLITE_IOERR: disk I/O error in ${String(property)}`);
      return (...args: unknown[]) => {
        const left = flaky.get(property as Operation) ?? 0;
        if (left > 0) flaky.set(property as Operation, left - 1);
        if (failing.has(property as Operation) || left > 0) return Promise.reject(failure());
        if (lost.has(property as Operation)) return Promise.resolve(method.apply(target, args)).then(() => Promise.reject(failure()));
        return method.apply(target, args);
      };
    },
  });
}

const CHAT = { model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user' as const, content: 'Hi' }] };
const MESSAGE = { model: 'claude-sonnet-4-20250514', max_tokens: 64, messages: [{ role: 'user' as const, content: 'Hi' }] };

describe('a gateway whose store fails', () => {
  let failing: Set<Operation>;
  let lost: Set<Operation>;
  let flaky: Map<Operation, number>;
  let logger: ReturnType<typeof recordingLogger>;
  let anthropic: FakeAnthropic;
  let harness: Harness;
  let key: string;
  let keyId: string;

  beforeEach(async () => {
    failing = new Set();
    lost = new Set();
    flaky = new Map();
    logger = recordingLogger();
    anthropic = await startFakeAnthropic();
    harness = await startHarness({
      store: failingStore(failing, lost, flaky),
      logger,
      config: (openai) => ({ providers: { openai: { baseUrl: openai }, anthropic: { baseUrl: anthropic.baseUrl } }, limits: { keyCacheTtlMs: 0 } }),
      env: { ANTHROPIC_API_KEY: ANTHROPIC_UPSTREAM_KEY },
    });
    const issued = await harness.issue();
    key = issued.key;
    keyId = issued.record.id;
  });
  afterEach(async () => {
    await harness.close();
    await anthropic.close();
  });

  function storeFailures(): string[] {
    return logger.lines.filter((line) => line.event === 'store_unavailable').map((line) => String(line.fields['operation']));
  }

  it('answers 503 in OpenAI’s error shape with Retry-After when the reservation cannot be written, and forwards nothing', async () => {
    // GIVEN a store whose reserve throws
    failing.add('reserve');
    const client = new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/openai`, maxRetries: 0 });

    // WHEN
    const error = await client.chat.completions.create(CHAT).catch((e: unknown) => e);

    // THEN the SDK sees a 503 it would retry, in OpenAI's shape
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    const apiError = error as InstanceType<typeof OpenAI.InternalServerError>;
    expect(apiError.status).toBe(503);
    expect(apiError.headers.get('retry-after')).toBe('1');
    expect(apiError.error).toMatchObject({ type: 'server_error', code: 'store_unavailable', message: expect.stringContaining('spend store') });
    expect(JSON.stringify(apiError.error)).not.toContain('SQLITE');
    // AND the provider saw nothing
    expect(harness.upstream.requests).toHaveLength(0);
    // AND the cause is logged, and counted, without the key
    expect(storeFailures()).toContain('reserve');
    expect(logger.lines.find((line) => line.event === 'store_unavailable')?.fields['message']).toMatch(/SQLITE_IOERR/);
    expect(JSON.stringify(logger.lines)).not.toContain(key);
  });

  it('answers 503 in Anthropic’s error shape through the Anthropic SDK, and forwards nothing', async () => {
    // GIVEN
    failing.add('reserve');
    const client = new Anthropic({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/anthropic`, maxRetries: 0 });

    // WHEN
    const error = await client.messages.create(MESSAGE).catch((e: unknown) => e);

    // THEN
    expect(error).toBeInstanceOf(Anthropic.InternalServerError);
    const apiError = error as InstanceType<typeof Anthropic.InternalServerError>;
    expect(apiError.status).toBe(503);
    expect(apiError.headers.get('retry-after')).toBe('1');
    expect(apiError.error).toMatchObject({ type: 'error', error: { type: 'api_error', message: expect.stringContaining('spend store') } });
    expect(anthropic.requests).toHaveLength(0);
  });

  it('logs and counts a store that is down once per request, though the reservation it could not take is handed back too', async () => {
    // GIVEN a store that cannot write at all
    for (const operation of ['reserve', 'settle', 'release'] as const) failing.add(operation);
    const client = new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/openai`, maxRetries: 0 });

    // WHEN
    const error = await client.chat.completions.create(CHAT).catch((e: unknown) => e);

    // THEN one failure is reported: the reserve's
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect(storeFailures()).toEqual(['reserve']);
  });

  it('hands back a reservation whose write took effect before its answer was lost', async () => {
    // GIVEN a store whose reserve commits, then fails
    lost.add('reserve');
    const client = new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/openai`, maxRetries: 0 });

    // WHEN
    const error = await client.chat.completions.create(CHAT).catch((e: unknown) => e);

    // THEN the request was refused and nothing forwarded, and nothing stays held for the reconciler to charge
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect(harness.upstream.requests).toHaveLength(0);
    expect(storeFailures()).toEqual(['reserve']);
    lost.clear();
    expect(await harness.store.expiredReservations(new Date(Date.now() + 2 * 3600_000))).toEqual([]);
    // AND nothing is held and no request is on the key's counters: none was made
    const counters = await harness.store.getSpend({ kind: 'key' });
    expect(counters.filter((counter) => counter.reservedNanos !== 0 || counter.requests !== 0 || counter.nanos !== 0)).toEqual([]);
  });

  it('answers 503 when the key cannot be looked up', async () => {
    // GIVEN
    failing.add('getKey');
    const client = new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/openai`, maxRetries: 0 });

    // WHEN
    const error = await client.chat.completions.create(CHAT).catch((e: unknown) => e);

    // THEN
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect(harness.upstream.requests).toHaveLength(0);
    expect(storeFailures()).toContain('getKey');
  });

  it('serves a response whose settlement fails, logs the spend it could not write, and leaves the reservation for the reconciler', async () => {
    // GIVEN a store that takes the reservation, then cannot settle it
    failing.add('settle');
    const client = new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/openai`, maxRetries: 0 });

    // WHEN
    const completion = await client.chat.completions.create(CHAT);

    // THEN the client got its answer, and the write, retried, is logged loudly
    expect(completion.usage?.completion_tokens).toBe(10);
    for (let at = Date.now(); !logger.lines.some((line) => line.event === 'spend_write_failed'); ) {
      if (Date.now() - at > 10_000) throw new Error('no spend_write_failed');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const failed = logger.lines.find((line) => line.event === 'spend_write_failed')!;
    expect(failed.fields['nanos']).toBeGreaterThan(0);
    // AND the store's failure is logged, and counted, once for the request, with its attempts
    expect(storeFailures()).toEqual(['settle']);
    expect(logger.lines.find((line) => line.event === 'store_unavailable')?.fields).toMatchObject({
      operation: 'settle',
      attempts: 4,
      written: false,
      reservation: failed.fields['reservation'],
      message: expect.stringMatching(/SQLITE_IOERR/),
    });

    // WHEN the store recovers and the reservation's time runs out
    failing.clear();
    const settled = await reconcileExpired(harness.store, new Date(Date.now() + 2 * 3600_000), silentLogger);

    // THEN the reconciler charged it at its estimate
    expect(settled).toBe(1);
    const lifetime = (await harness.store.getSpend({ kind: 'key', id: String(failed.fields['key_id']) })).find((c) => c.period === 'lifetime');
    expect(lifetime).toMatchObject({ requests: 1, reservedNanos: 0, nanos: failed.fields['estimate_nanos'] });
  });

  it('logs a settlement that succeeds on a retry once, with its attempts, and settles it', async () => {
    // GIVEN a store whose settlement fails twice, then works
    flaky.set('settle', 2);
    const client = new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/openai`, maxRetries: 0 });

    // WHEN
    await client.chat.completions.create(CHAT);

    // THEN the request is settled, and the failure is one line saying it took three attempts
    await harness.waitForSpend((counters) => counters.some((c) => c.scope.kind === 'key' && c.scope.id === keyId && c.requests === 1 && c.reservedNanos === 0 && c.nanos > 0));
    expect(logger.lines.filter((line) => line.event === 'spend_write_failed')).toEqual([]);
    expect(logger.lines.filter((line) => line.event === 'store_unavailable').map((line) => line.fields)).toEqual([
      expect.objectContaining({ operation: 'settle', attempts: 3, written: true, message: expect.stringMatching(/SQLITE_IOERR/) }),
    ]);
    expect(logger.lines.map((line) => line.event)).toContain('request_settled');
  });
});
