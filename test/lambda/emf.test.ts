import { METRIC_SETS, publishedMetrics } from '../../lambda/observability/catalog';
import { emfLogger } from '../../lambda/observability/emf';

interface Line {
  readonly [member: string]: unknown;
  readonly _aws?: { Timestamp: number; CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
}

function capture(): { lines: Line[]; logger: ReturnType<typeof emfLogger> } {
  const lines: Line[] = [];
  const logger = emfLogger({ namespace: 'Tollgate', clock: () => 1_800_000_000_000, write: (line) => lines.push(JSON.parse(line) as Line) });
  return { lines, logger };
}

/** `Name|Dim1,Dim2` for every metric a line publishes. */
function published(line: Line): string[] {
  return (line._aws?.CloudWatchMetrics ?? []).flatMap((d) => d.Metrics.map((m) => `${m.Name}|${(d.Dimensions[0] ?? []).join(',')}`)).sort();
}

const settled = {
  route: 'openai',
  provider: 'openai',
  status: 200,
  duration_ms: 812,
  input_tokens: 2006,
  output_tokens: 10,
  model: 'gpt-4o-2024-08-06',
  key_id: 'k1',
  project: 'acme',
  nanos: 2_715_000,
  priced: true,
  outcome: 'complete',
};

describe('emfLogger', () => {
  it('turns request_settled into one line: the log fields, the metric values, and every request metric set', () => {
    // GIVEN
    const { lines, logger } = capture();

    // WHEN
    logger.info('request_settled', settled);

    // THEN
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line).toMatchObject({ level: 'info', event: 'request_settled', ...settled });
    expect(line).toMatchObject({ Provider: 'openai', Project: 'acme', Model: 'gpt-4o-2024-08-06', Requests: 1, CostUSD: 0.002715, InputTokens: 2006, OutputTokens: 10, LatencyMs: 812, ServerErrors: 0, ClientErrors: 0, UnpricedRequests: 0, SpendWriteFailures: 0, SpendOverReservation: 0, UsageClamped: 0 });
    expect(line._aws?.Timestamp).toBe(1_800_000_000_000);
    const expected = (['total', 'byProvider', 'byProject', 'byModel'] as const).flatMap((set) =>
      METRIC_SETS[set].metrics.map((metric) => `${metric}|${set}`),
    );
    expect(published(line)).toHaveLength(expected.length);
    for (const metric of published(line)) expect(publishedMetrics()).toContain(metric);
  });

  it('counts a stream the upstream broke as a server error, and an unpriced one as unpriced', () => {
    // GIVEN
    const { lines, logger } = capture();

    // WHEN
    logger.info('request_settled', { ...settled, outcome: 'upstream-failed', priced: false, nanos: 0 });

    // THEN
    expect(lines[0]).toMatchObject({ ServerErrors: 1, UnpricedRequests: 1, CostUSD: 0 });
  });

  it('counts a request settled past its reservation, and one whose usage claimed impossible output', () => {
    const { lines, logger } = capture();

    logger.info('request_settled', { ...settled, over_reservation_nanos: 1_000 });
    logger.info('request_settled', { ...settled, reported_output_tokens: 1_000_000_000 });
    logger.info('request_settled', settled);

    expect(lines.map((line) => [line['SpendOverReservation'], line['UsageClamped']])).toEqual([
      [1, 0],
      [0, 1],
      [0, 0],
    ]);
  });

  it('still counts the request when its spend could not be written, and flags the failure', () => {
    // GIVEN
    const { lines, logger } = capture();

    // WHEN
    logger.error('spend_write_failed', { ...settled, message: 'throttled' });

    // THEN
    expect(lines[0]).toMatchObject({ level: 'error', Requests: 1, SpendWriteFailures: 1, CostUSD: 0.002715 });
  });

  it('publishes a rejection under the sets whose dimensions it has, and no others', () => {
    // GIVEN
    const { lines, logger } = capture();

    // WHEN one rejection names its provider and one came before any route was known
    logger.info('request_rejected', { route: 'openai', provider: 'openai', status: 401, code: 'invalid_api_key' });
    logger.error('request_rejected', { status: 500, code: 'internal_error' });

    // THEN
    expect(published(lines[0]!)).toEqual(['ClientErrors|', 'ClientErrors|Provider', 'Requests|', 'Requests|Provider', 'ServerErrors|', 'ServerErrors|Provider']);
    expect(published(lines[1]!)).toEqual(['ClientErrors|', 'Requests|', 'ServerErrors|']);
    expect(lines[1]).toMatchObject({ ServerErrors: 1, ClientErrors: 0 });
    expect(lines[1]).not.toHaveProperty('Provider');
  });

  it('publishes nothing for a rejection whose request was settled, so counted, first', () => {
    // GIVEN
    const { lines, logger } = capture();

    // WHEN the meter settled the request (every member unreachable), then the gateway answered 502
    logger.error('request_settled', { route: 'pool', provider: 'openai', status: 502, outcome: 'not-forwarded', nanos: 0 });
    logger.error('request_rejected', { route: 'pool', provider: 'openai', status: 502, code: 'upstream_unreachable', settled: true });

    // THEN one request, one server error; the rejection is still logged
    expect(lines[0]).toMatchObject({ Requests: 1, ServerErrors: 1 });
    expect(lines[1]).toMatchObject({ event: 'request_rejected', settled: true });
    expect(lines[1]).not.toHaveProperty('_aws');
    expect(lines[1]).not.toHaveProperty('Requests');
  });

  it('counts a free call as a request at no cost, with its error class, by provider and project, and no latency', () => {
    // GIVEN
    const { lines, logger } = capture();

    // WHEN a model list is answered, another's body breaks off, and a third's provider says 404
    const free = { route: 'openai', provider: 'openai', key_id: 'k1', project: 'acme', nanos: 0 };
    logger.info('free_request_settled', { ...free, status: 200, outcome: 'complete' });
    logger.info('free_request_settled', { ...free, status: 200, outcome: 'upstream-failed' });
    logger.info('free_request_settled', { ...free, status: 404, outcome: 'complete' });

    // THEN
    expect(lines.map(({ Requests, ServerErrors, ClientErrors, CostUSD }) => ({ Requests, ServerErrors, ClientErrors, CostUSD }))).toEqual([
      { Requests: 1, ServerErrors: 0, ClientErrors: 0, CostUSD: 0 },
      { Requests: 1, ServerErrors: 1, ClientErrors: 0, CostUSD: 0 },
      { Requests: 1, ServerErrors: 0, ClientErrors: 1, CostUSD: 0 },
    ]);
    expect(published(lines[0]!)).toEqual(
      ['ClientErrors|', 'CostUSD|', 'Requests|', 'ServerErrors|', 'ClientErrors|Provider', 'CostUSD|Provider', 'Requests|Provider', 'ServerErrors|Provider', 'CostUSD|Project', 'Requests|Project'].sort(),
    );
    expect(lines[0]).toMatchObject({ Provider: 'openai', Project: 'acme' });
  });

  it('counts each failed store operation as a region total, and not as a request', () => {
    // GIVEN
    const { lines, logger } = capture();

    // WHEN
    logger.error('store_unavailable', { operation: 'reserve', error: 'ProvisionedThroughputExceededException', message: 'throttled' });

    // THEN
    expect(lines[0]).toMatchObject({ event: 'store_unavailable', operation: 'reserve', StoreFailures: 1 });
    expect(published(lines[0]!)).toEqual(['StoreFailures|']);
    expect(publishedMetrics()).toContain('StoreFailures|');
  });

  it('counts failed attempts and opened circuits by the provider account, and not as requests', () => {
    // GIVEN
    const { lines, logger } = capture();

    // WHEN
    logger.error('upstream_attempt_failed', { route: 'pool', provider: 'openai-eu', attempt: 1, status: 503 });
    logger.error('circuit_opened', { provider: 'openai-eu', failures: 5, cooldown_ms: 30_000 });
    logger.info('circuit_closed', { provider: 'openai-eu' });

    // THEN
    expect(lines[0]).toMatchObject({ event: 'upstream_attempt_failed', Provider: 'openai-eu', FailedAttempts: 1, status: 503 });
    expect(published(lines[0]!)).toEqual(['FailedAttempts|Provider']);
    expect(lines[1]).toMatchObject({ Provider: 'openai-eu', CircuitsOpened: 1 });
    expect(published(lines[1]!)).toEqual(['CircuitsOpened|Provider']);
    for (const line of lines.slice(0, 2)) for (const metric of published(line)) expect(publishedMetrics()).toContain(metric);
    expect(lines[2]).toEqual({ level: 'info', event: 'circuit_closed', provider: 'openai-eu' });
  });

  it('publishes a project’s own account (BYOK) as byok:<kind>, keeping its name in the log fields', () => {
    // GIVEN
    const { lines, logger } = capture();
    const byok = { provider: 'openai-acme', byok_project: 'acme', byok_kind: 'openai' };

    // WHEN
    logger.info('request_settled', { ...settled, ...byok });
    logger.error('upstream_attempt_failed', { route: 'openai', ...byok, attempt: 1, status: 503 });
    logger.error('circuit_opened', { ...byok, failures: 5, cooldown_ms: 30_000 });
    logger.info('request_rejected', { route: 'openai-acme', ...byok, status: 400, code: 'invalid_json' });

    // THEN
    expect(lines.map((line) => [line['Provider'], line['provider']])).toEqual(Array(4).fill(['byok:openai', 'openai-acme']));
  });

  it('leaves every other event a plain structured line', () => {
    // GIVEN
    const { lines, logger } = capture();

    // WHEN
    logger.error('credential_unavailable', { provider: 'openai', message: 'no field' });

    // THEN
    expect(lines[0]).toEqual({ level: 'error', event: 'credential_unavailable', provider: 'openai', message: 'no field' });
  });
});
