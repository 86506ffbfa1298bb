import { openDynamoStore } from '../../lambda/store/dynamodb';
import { issueKey, type IssuedKey } from '../../lambda/keys/issue-key';
import { formatUsd } from '../../lambda/pricing/money';
import type { SpendCounter, Store } from '../../lambda/store/port';
import { openSqliteStore } from '../../lambda/store/sqlite';
import { startDynalite, type LocalDynamo } from '../support/dynalite';
import { FORMAT_CALLS, sendCall } from '../support/format-calls';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver';
import { startTracedGateway, type TracedGateway } from '../support/traced-gateway';

const USD = 1_000_000_000;
/** The caps under test, by scope kind and period kind, in nano-dollars. */
const LIMITS: Readonly<Record<string, number>> = { 'key day': 20 * USD, 'key month': 300 * USD, 'project month': 5_000 * USD };
const PER_MINUTE = 100;
const CONCURRENT = 5;

let dynamo: LocalDynamo | undefined;
afterAll(async () => {
  await dynamo?.close();
});

const stores: readonly (readonly [string, () => Promise<Store>])[] = [
  ['sqlite', async () => openSqliteStore({ dataDir: ':memory:' })],
  [
    'dynamodb',
    async () => {
      dynamo ??= await startDynalite();
      return openDynamoStore({ client: dynamo.client, ...(await dynamo.createTables()) });
    },
  ],
];

describe.each(stores)('the request span says what each cap has left (%s store)', (_name, openStore) => {
  let receiver: OtlpReceiver;
  let traced: TracedGateway;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    traced = await startTracedGateway({ tracing: { export: { endpoint: receiver.url }, queue: { delayMs: 5 } }, store: await openStore() });
  });
  afterAll(async () => {
    await traced.close();
    await receiver.close();
  });

  /** The request span of a response, once exported. */
  async function spanOf(response: { headers: Headers }): Promise<ReceivedSpan> {
    const spanId = response.headers.get('traceparent')!.split('-')[2];
    const deadline = Date.now() + 10_000;
    for (;;) {
      const span = receiver.spans.find((s) => s.spanId === spanId);
      if (span) return span;
      if (Date.now() > deadline) throw new Error(`span ${spanId} never arrived`);
      await receiver.waitForSpans(receiver.spans.length + 1).catch(() => {});
    }
  }

  const spendOf = async (issued: IssuedKey, project: string): Promise<SpendCounter[]> => [
    ...(await traced.store.getSpend({ kind: 'key', id: issued.record.id })),
    ...(await traced.store.getSpend({ kind: 'project', id: project })),
  ];

  it('daily and monthly key caps, a project cap, a request rate and a concurrency cap: the limit less what the store holds, this request included', async () => {
    // GIVEN a key with spend caps and rate limits, in a project with a cap of its own, that has made one request
    await traced.store.createProject({ name: 'metered', createdAt: new Date().toISOString(), limits: { monthly: LIMITS['project month']! } });
    const issued = await issueKey(traced.store, {
      project: 'metered',
      user: 'ada',
      limits: { daily: LIMITS['key day']!, monthly: LIMITS['key month']! },
      rateLimits: { requestsPerMinute: PER_MINUTE, concurrent: CONCURRENT },
    });
    const first = await sendCall(traced.gateway.url, FORMAT_CALLS[0]!, issued.key);
    expect(first.status).toBe(200);
    const firstCost = await traced.lifetimeNanos(issued.record.id);
    const firstMinute = ((await spanOf(first)).attributes['tollgate.caps.checked'] as string[]).find((cap) => cap.includes(' minute:'))!.split(' ')[1];
    const before = await spendOf(issued, 'metered');

    // WHEN it makes a second
    const second = await sendCall(traced.gateway.url, FORMAT_CALLS[0]!, issued.key);
    expect(second.status).toBe(200);
    const span = await spanOf(second);

    // THEN each cap checked has a remaining figure beside it: the limit less what was spent before it and what it holds
    const checked = span.attributes['tollgate.caps.checked'] as string[];
    const remaining = span.attributes['tollgate.caps.remaining'] as number[];
    const estimate = span.attributes['tollgate.estimate.nanos'] as number;
    expect(checked).toHaveLength(5);
    expect(firstCost).toBeGreaterThan(0);
    expect(estimate).toBeGreaterThan(0);
    const expected = checked.map((cap) => {
      const [scope = '', period = ''] = cap.split(' ');
      if (period === 'inflight') return CONCURRENT - 1;
      if (period.startsWith('minute:')) return PER_MINUTE - (period === firstMinute ? 2 : 1);
      const [kind, id] = scope.split(':');
      const counter = before.find((c) => c.scope.kind === kind && c.scope.id === id && c.period === period);
      expect(counter?.reservedNanos ?? 0).toBe(0);
      return LIMITS[`${kind} ${period.split(':')[0]}`]! - ((counter?.nanos ?? 0) + estimate);
    });
    expect(remaining).toEqual(expected);
    // the first request's settled cost is in every spend cap's figure (the same day, unless midnight fell between)
    expect(remaining[checked.findIndex((cap) => cap.startsWith('project:'))]).toBe(LIMITS['project month']! - firstCost - estimate);
    // AND the same figures as people read them
    expect(span.attributes['tollgate.caps.remaining_text']).toEqual(
      checked.map((cap, i) => (cap.includes(' minute:') ? `${remaining[i]} requests` : cap.includes(' inflight ') ? `${remaining[i]} in flight` : `$${formatUsd(remaining[i]!)}`)),
    );
    expect(span.attributes['tollgate.caps.refused']).toBeUndefined();
  });

  it('a refused request: the span names the cap that refused it, among those checked, and has no remaining figures', async () => {
    // GIVEN a key whose own cap has room, in a project whose cap is below one request's estimate
    await traced.store.createProject({ name: 'tight', createdAt: new Date().toISOString(), limits: { monthly: 1_000_000 } });
    const issued = await issueKey(traced.store, { project: 'tight', user: 'ada', limits: { daily: 100 * USD } });

    // WHEN it makes a request
    const response = await sendCall(traced.gateway.url, FORMAT_CALLS[0]!, issued.key);

    // THEN it is refused, and its span says by which cap
    expect(response.status).toBe(402);
    const span = await spanOf(response);
    const checked = span.attributes['tollgate.caps.checked'] as string[];
    expect(checked).toEqual([expect.stringMatching(/^key:\S+ day:\S+ ≤ \$100\.00$/), expect.stringMatching(/^project:tight month:\d{4}-\d{2} ≤ \$0\.001$/)]);
    expect(span.attributes['tollgate.caps.refused']).toBe(checked[1]);
    expect(span.attributes['tollgate.caps.remaining']).toBeUndefined();
    expect(span.attributes['error.type']).toBe('spend_limit_reached');
    // AND nothing is held: the refusal took nothing
    expect((await traced.store.getSpend({ kind: 'key', id: issued.record.id })).every((c) => c.reservedNanos === 0)).toBe(true);
  });
});
