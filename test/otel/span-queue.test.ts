import type { ExportResult } from '../../lambda/observability/otel/otlp-http';
import { SpanQueue, type SpanQueueOptions } from '../../lambda/observability/otel/span-queue';
import { SpanKind, StatusCode, type SpanData } from '../../lambda/observability/otel/span';
import { gate } from '../support/gate';
import { recordingLogger } from '../support/recording-logger';

function span(name: string): SpanData {
  return { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), parentSpanId: undefined, traceState: undefined, name, kind: SpanKind.server, startMs: 1, endMs: 2, attributes: {}, status: StatusCode.unset };
}

/** A receiver the test scripts: each send takes the next answer (or waits on a gate), and is recorded. */
function scripted(answers: (ExportResult | Promise<ExportResult>)[]) {
  const sent: string[][] = [];
  const send = async (spans: readonly SpanData[]): Promise<ExportResult> => {
    sent.push(spans.map((s) => s.name));
    return (await answers.shift()) ?? { kind: 'ok' };
  };
  return { sent, send };
}

const options = (overrides: Partial<SpanQueueOptions> = {}): SpanQueueOptions => ({
  maxSpans: 100,
  batchSize: 10,
  delayMs: 60_000,
  maxAttempts: 3,
  label: 'http://127.0.0.1:4318/v1/traces',
  logger: recordingLogger(),
  backoffBaseMs: 1,
  backoffMaxMs: 4,
  ...overrides,
});

describe('SpanQueue', () => {
  it('sends a full batch at once, without waiting for the delay', async () => {
    const receiver = scripted([]);
    const queue = new SpanQueue(receiver.send, options({ batchSize: 3 }));
    for (const name of ['a', 'b', 'c', 'd']) queue.push(span(name));
    await waitFor(() => receiver.sent.length === 1);
    expect(receiver.sent).toEqual([['a', 'b', 'c']]);
    expect(queue.stats()).toMatchObject({ exported: 3, pending: 1 });
  });

  it('sends a lone span once it has waited the delay', async () => {
    const receiver = scripted([]);
    const queue = new SpanQueue(receiver.send, options({ delayMs: 10 }));
    queue.push(span('lonely'));
    await waitFor(() => receiver.sent.length === 1);
    expect(receiver.sent).toEqual([['lonely']]);
  });

  it('drops and counts what arrives while it is full, and push never waits on the receiver', async () => {
    const held = gate();
    const receiver = scripted([held.promise.then(() => ({ kind: 'ok' }) as const)]);
    const queue = new SpanQueue(receiver.send, options({ maxSpans: 5, batchSize: 5 }));
    for (let i = 0; i < 5; i++) queue.push(span(`first-${i}`));
    await waitFor(() => receiver.sent.length === 1); // the first batch is out, and held
    for (let i = 0; i < 8; i++) queue.push(span(`second-${i}`));
    expect(queue.stats()).toMatchObject({ droppedFull: 3, pending: 10, exported: 0 });
    held.open();
    await queue.flush(5000);
    expect(receiver.sent).toEqual([['first-0', 'first-1', 'first-2', 'first-3', 'first-4'], ['second-0', 'second-1', 'second-2', 'second-3', 'second-4']]);
    expect(queue.stats()).toMatchObject({ exported: 10, droppedFull: 3, pending: 0 });
  });

  it('tries a batch again after a retryable failure, with the receiver’s Retry-After', async () => {
    const receiver = scripted([{ kind: 'retry', reason: 'ECONNREFUSED' }, { kind: 'retry', reason: 'HTTP 429', afterMs: 5 }, { kind: 'ok' }]);
    const queue = new SpanQueue(receiver.send, options());
    queue.push(span('x'));
    await queue.flush(5000);
    expect(receiver.sent).toEqual([['x'], ['x'], ['x']]);
    expect(queue.stats()).toMatchObject({ exported: 1, retries: 2, droppedFailed: 0 });
  });

  it('drops a batch and counts it once every try has failed, and logs one line without headers', async () => {
    const logger = recordingLogger();
    const receiver = scripted([{ kind: 'retry', reason: 'HTTP 503' }, { kind: 'retry', reason: 'HTTP 503' }, { kind: 'retry', reason: 'HTTP 503' }]);
    const queue = new SpanQueue(receiver.send, options({ logger }));
    queue.push(span('x'));
    queue.push(span('y'));
    await queue.flush(5000);
    expect(receiver.sent).toHaveLength(3);
    expect(queue.stats()).toMatchObject({ exported: 0, droppedFailed: 2, retries: 2 });
    expect(logger.lines).toEqual([
      {
        level: 'error',
        event: 'tracing_export_failed',
        fields: expect.objectContaining({ destination: 'http://127.0.0.1:4318/v1/traces', reason: 'HTTP 503', dropped_failed: 2 }),
      },
    ]);
  });

  it('drops a batch whose headers could not be read at once, counted as failed, and sends the next one', async () => {
    // GIVEN a sender whose first batch finds its token secret unreadable
    const logger = recordingLogger();
    const receiver = scripted([{ kind: 'failed', reason: 'tracing.export.headers.Authorization from secret tollgate/s/logfire: could not read secret tollgate/s/logfire (AccessDeniedException)' }]);
    const queue = new SpanQueue(receiver.send, options({ logger, batchSize: 2 }));

    // WHEN two batches are sent
    queue.push(span('x'));
    queue.push(span('y'));
    await queue.flush(5000);
    queue.push(span('z'));
    await queue.flush(5000);

    // THEN the first was not tried again, and was counted and logged as a failed export; the second went out
    expect(receiver.sent).toEqual([['x', 'y'], ['z']]);
    expect(queue.stats()).toMatchObject({ exported: 1, droppedFailed: 2, retries: 0, pending: 0 });
    expect(logger.lines).toEqual([
      { level: 'error', event: 'tracing_export_failed', fields: expect.objectContaining({ reason: expect.stringContaining('from secret tollgate/s/logfire'), dropped_failed: 2 }) },
    ]);
  });

  it('does not send again what the receiver refused', async () => {
    const receiver = scripted([{ kind: 'rejected', reason: 'HTTP 400' }]);
    const queue = new SpanQueue(receiver.send, options());
    queue.push(span('x'));
    await queue.flush(5000);
    expect(receiver.sent).toEqual([['x']]);
    expect(queue.stats()).toMatchObject({ droppedRejected: 1, retries: 0 });
  });

  it('logs a run of failures once a minute, counting the rest', async () => {
    const logger = recordingLogger();
    const receiver = scripted(Array.from({ length: 5 }, () => ({ kind: 'rejected', reason: 'HTTP 401' }) as const));
    const queue = new SpanQueue(receiver.send, options({ logger }));
    for (let i = 0; i < 5; i++) {
      queue.push(span(String(i)));
      await queue.flush(5000);
    }
    expect(queue.stats().droppedRejected).toBe(5);
    expect(logger.lines.map((line) => line.event)).toEqual(['tracing_export_rejected']);
  });

  it('stops waiting at the flush timeout when the receiver hangs; the spans stay queued', async () => {
    const never = new Promise<ExportResult>(() => {});
    const receiver = scripted([never]);
    const queue = new SpanQueue(receiver.send, options());
    queue.push(span('x'));
    const started = Date.now();
    await queue.flush(50);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(queue.stats()).toMatchObject({ pending: 1, exported: 0 });
  });

  describe('when it sends only when flushed (Lambda)', () => {
    it('sends nothing on its own, however many spans wait', async () => {
      const receiver = scripted([]);
      const queue = new SpanQueue(receiver.send, options({ onlyWhenFlushed: true, batchSize: 2, delayMs: 1 }));
      for (const name of ['a', 'b', 'c']) queue.push(span(name));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(receiver.sent).toEqual([]);
      await queue.flush(5000);
      expect(receiver.sent).toEqual([['a', 'b'], ['c']]);
    });

    it('keeps a batch whose retry would outlast the flush for the next flush, sending nothing in between, and counts its tries across flushes', async () => {
      // GIVEN a receiver that fails twice, and a backoff far longer than the flush's time
      const receiver = scripted([{ kind: 'retry', reason: 'HTTP 503' }, { kind: 'retry', reason: 'HTTP 503' }]);
      const queue = new SpanQueue(receiver.send, options({ onlyWhenFlushed: true, backoffBaseMs: 40, backoffMaxMs: 40, maxAttempts: 2 }));
      queue.push(span('x'));

      // WHEN it is flushed with 10 ms to spare
      const started = Date.now();
      await queue.flush(10);

      // THEN the flush returned at once, and no retry went out after it, even once the backoff had passed
      expect(Date.now() - started).toBeLessThan(1000);
      await new Promise((resolve) => setTimeout(resolve, 120));
      expect(receiver.sent).toEqual([['x']]);
      expect(queue.stats()).toMatchObject({ pending: 1, retries: 1, exported: 0 });

      // AND the next flush sends it first; its second failure is its last try (2 in all), so it is dropped, and the next batch goes out
      queue.push(span('y'));
      await queue.flush(5000);
      expect(receiver.sent).toEqual([['x'], ['x'], ['y']]);
      expect(queue.stats()).toMatchObject({ pending: 0, droppedFailed: 1, exported: 1 });
    });

    it('does not try again after the flush when a send still in flight then fails', async () => {
      const failLater = gate();
      const receiver = scripted([failLater.promise.then(() => ({ kind: 'retry', reason: 'ECONNRESET' }) as const)]);
      const queue = new SpanQueue(receiver.send, options({ onlyWhenFlushed: true }));
      queue.push(span('x'));
      await queue.flush(20);
      failLater.open();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(receiver.sent).toEqual([['x']]);
      expect(queue.stats()).toMatchObject({ pending: 1, retries: 1 });
    });
  });

  it('does not try again once closed while waiting to retry', async () => {
    const receiver = scripted([{ kind: 'retry', reason: 'ECONNREFUSED' }]);
    const queue = new SpanQueue(receiver.send, options({ backoffBaseMs: 60, backoffMaxMs: 60 }));
    queue.push(span('x'));
    await queue.flush(10);
    await queue.close(0);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(receiver.sent).toEqual([['x']]);
    expect(queue.stats()).toMatchObject({ droppedFailed: 1, pending: 0 });
  });

  it('takes no spans once closed', async () => {
    const receiver = scripted([]);
    const queue = new SpanQueue(receiver.send, options());
    await queue.close(100);
    queue.push(span('late'));
    expect(queue.stats()).toMatchObject({ droppedFull: 1, pending: 0 });
  });
});

/** Polls between event-loop turns; gives up after 5 s so a broken queue fails instead of hanging. */
async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition never held');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
