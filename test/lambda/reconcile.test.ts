import { randomUUID } from 'node:crypto';
import { openDynamoStore } from '../../lambda/store/dynamodb';
import type { Reservation, Store } from '../../lambda/store/port';
import { startDynalite, type LocalDynamo } from '../support/dynalite';

describe('the scheduled reconciler handler', () => {
  let dynamo: LocalDynamo;
  let store: Store;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    dynamo = await startDynalite();
    const tables = await dynamo.createTables();
    store = openDynamoStore({ client: dynamo.client, ...tables });
    const env = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'tollgate-test',
      AWS_SECRET_ACCESS_KEY: 'tollgate-test',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      TOLLGATE_KEYS_TABLE: tables.keysTable,
      TOLLGATE_SPEND_TABLE: tables.spendTable,
    };
    for (const [name, value] of Object.entries(env)) {
      saved[name] = process.env[name];
      process.env[name] = value;
    }
  });
  afterAll(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await dynamo.close();
  });

  it('settles a reservation whose invocation died, at its estimate, once', async () => {
    // GIVEN a reservation that expired a minute ago without being settled
    const at = new Date(Date.now() - 30 * 60_000);
    const reservation: Reservation = {
      id: randomUUID(),
      at,
      scopes: [{ kind: 'key', id: 'k-dead' }, { kind: 'project', id: 'acme' }],
      claims: [],
      estimateNanos: 1_500_000,
      expiresAt: new Date(Date.now() - 60_000),
    };
    expect(await store.reserve(reservation)).toMatchObject({ ok: true });
    let handler: () => Promise<{ settled: number }> = async () => ({ settled: -1 });
    jest.isolateModules(() => {
      handler = (require('../../lambda/handlers/reconcile') as { handler: typeof handler }).handler;
    });
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);

    try {
      // WHEN the schedule fires, twice
      const first = await handler();
      const second = await handler();

      // THEN the estimate was charged once, and logged
      expect(first).toEqual({ settled: 1 });
      expect(second).toEqual({ settled: 0 });
      const lifetime = (await store.getSpend({ kind: 'key', id: 'k-dead' })).find((counter) => counter.period === 'lifetime');
      expect(lifetime).toMatchObject({ nanos: 1_500_000, requests: 1 });
      expect(write.mock.calls.map(([line]) => String(line)).join('')).toContain('"event":"reservation_reconciled"');
    } finally {
      write.mockRestore();
    }
  });

  it('stops taking reservations 10 s before its timeout, so none is cut mid-settlement, and leaves the rest to the next run', async () => {
    // GIVEN three expired reservations of one key
    const reservations: Reservation[] = [1, 2, 3].map((n) => ({
      id: randomUUID(),
      at: new Date(Date.now() - 30 * 60_000),
      scopes: [{ kind: 'key', id: 'k-backlog' }],
      claims: [],
      estimateNanos: n * 1_000,
      expiresAt: new Date(Date.now() - 60_000 * n),
    }));
    for (const reservation of reservations) expect(await store.reserve(reservation)).toMatchObject({ ok: true });
    let handler: (event: unknown, context: { getRemainingTimeInMillis(): number }) => Promise<{ settled: number }> = async () => ({ settled: -1 });
    jest.isolateModules(() => {
      handler = (require('../../lambda/handlers/reconcile') as { handler: typeof handler }).handler;
    });
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    // A run whose clock reaches its last 10 s once it has settled one reservation
    const remaining = [50_000, 9_999];
    const running = { getRemainingTimeInMillis: () => remaining.shift() ?? 9_999 };

    try {
      // WHEN
      const first = await handler({}, running);
      const second = await handler({}, { getRemainingTimeInMillis: () => 60_000 });

      // THEN the first run settled one and said it stopped early; the next settled the rest
      expect(first).toEqual({ settled: 1, stoppedEarly: true });
      expect(second).toEqual({ settled: 2 });
      const lifetime = (await store.getSpend({ kind: 'key', id: 'k-backlog' })).find((counter) => counter.period === 'lifetime');
      expect(lifetime).toMatchObject({ nanos: 6_000, requests: 3 });
      expect(write.mock.calls.map(([line]) => String(line)).join('')).toMatch(/"event":"reconcile_stopped_early".*"settled":1/);
    } finally {
      write.mockRestore();
    }
  });
});
