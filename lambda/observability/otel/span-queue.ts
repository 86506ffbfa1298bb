import type { Logger } from '../../core/log';
import type { ExportResult, SendSpans } from './otlp-http';
import type { QueueSettings } from './settings';
import type { SpanData } from './span';

/** What became of the spans handed to one destination. */
export interface QueueStats {
  readonly exported: number;
  /** Dropped on arrival: the queue was full. */
  readonly droppedFull: number;
  /** Dropped after every try failed with a retryable error, or at once when its headers could not be read. */
  readonly droppedFailed: number;
  /** Dropped because the receiver refused them. */
  readonly droppedRejected: number;
  readonly retries: number;
  /** Waiting, or being sent. */
  readonly pending: number;
}

export interface SpanQueueOptions extends QueueSettings {
  /** Names the destination in log lines: an origin, never a header. */
  readonly label: string;
  readonly logger: Logger;
  /** @default 1000 */
  readonly backoffBaseMs?: number;
  /** @default 30000 */
  readonly backoffMaxMs?: number;
  /**
   * Send only inside {@link SpanQueue.flush}, and retry only while its time lasts (Lambda): a timer
   * or a retry left running when the sandbox froze would fire at thaw, outside any invocation,
   * where a traced request has no trace to join. A batch whose retry would outlast the flush waits,
   * with its tries so far, for the next one.
   */
  readonly onlyWhenFlushed?: boolean;
}

/** The longest a failure is kept quiet: later ones are counted and logged together. */
const LOG_EVERY_MS = 60_000;

/**
 * A bounded queue in front of one OTLP receiver. `push` is all a request ever does: it appends
 * (or, when full, drops and counts) and returns. Batches go out one at a time, when `batchSize`
 * spans are waiting or the oldest has waited `delayMs`, from a timer or an immediate — never
 * from inside a request. A retryable failure is tried again with exponential backoff (and
 * jitter, or the receiver's `Retry-After`) up to `maxAttempts`; then the batch is dropped and
 * counted. Timers are unref'd: a queue never keeps a process alive. In Lambda
 * (`onlyWhenFlushed`) nothing is sent but by `flush`, and nothing after its time is up.
 *
 * ```
 * push ─▶ [ queue ≤ maxSpans ] ─batch─▶ send ─ok──────────────▶ exported
 *              │ full: dropped            │ retryable: wait, send again (≤ maxAttempts) ─▶ droppedFailed
 *                                         ├ refused ─────────────────────────────────────▶ droppedRejected
 *                                         └ headers unreadable (a secret) ───────────────▶ droppedFailed
 * ```
 */
export class SpanQueue {
  private readonly queue: SpanData[] = [];
  private sending: readonly SpanData[] | undefined;
  /** A batch that failed and waits for the next flush, with the tries it has had. */
  private deferred: { readonly batch: readonly SpanData[]; readonly tries: number } | undefined;
  private flushingUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  private stats_ = { exported: 0, droppedFull: 0, droppedFailed: 0, droppedRejected: 0, retries: 0 };
  private lastLogAt = -Infinity;
  private unlogged = 0;

  constructor(
    private readonly send: SendSpans,
    private readonly options: SpanQueueOptions,
  ) {}

  push(span: SpanData): void {
    if (this.closed || this.queue.length >= this.options.maxSpans) {
      this.stats_.droppedFull++;
      this.report('tracing_queue_full', `${this.options.maxSpans} spans waiting`);
      return;
    }
    this.queue.push(span);
    if (this.sending || this.options.onlyWhenFlushed) return;
    if (this.queue.length >= this.options.batchSize) this.sendSoon();
    else if (!this.timer) this.timer = unref(setTimeout(() => this.sendSoon(), this.options.delayMs));
  }

  stats(): QueueStats {
    return { ...this.stats_, pending: this.queue.length + (this.sending?.length ?? 0) + (this.deferred?.batch.length ?? 0) };
  }

  /**
   * Sends everything queued now, without waiting for a batch to fill, and resolves when the queue
   * is empty or after `timeoutMs`, whichever is first. Spans still queued then stay queued.
   */
  async flush(timeoutMs: number): Promise<void> {
    if (this.queue.length === 0 && !this.sending && !this.deferred) return;
    this.flushingUntil = Math.max(this.flushingUntil, Date.now() + timeoutMs);
    let timeout: NodeJS.Timeout | undefined;
    const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    if (!this.sending) this.sendSoon();
    await Promise.race([idle, new Promise<void>((resolve) => (timeout = unref(setTimeout(resolve, timeoutMs))))]);
    clearTimeout(timeout);
  }

  /** Flushes, then takes no more spans. */
  async close(timeoutMs: number): Promise<void> {
    await this.flush(timeoutMs);
    this.closed = true;
    clearTimeout(this.timer);
  }

  private sendSoon(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.immediate || this.sending) return;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      void this.drain();
    });
  }

  /**
   * Sends full batches while there are any; a partial batch only when flushing or when its
   * oldest span has waited `delayMs` (else it waits for that timer). Never rejects.
   */
  private async drain(): Promise<void> {
    let partialAllowed = true;
    let sent = true;
    if (this.deferred) {
      const { batch, tries } = this.deferred;
      this.deferred = undefined;
      sent = await this.sendBatch(batch, tries);
    }
    while (sent && this.queue.length > 0 && (partialAllowed || this.queue.length >= this.options.batchSize || this.idleWaiters.length > 0) && !this.flushOver()) {
      sent = await this.sendBatch(this.queue.splice(0, this.options.batchSize), 0);
      partialAllowed = false;
    }
    if (sent && this.queue.length > 0 && !this.options.onlyWhenFlushed) {
      this.timer ??= unref(setTimeout(() => this.sendSoon(), this.options.delayMs));
      return;
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private flushOver(): boolean {
    return this.options.onlyWhenFlushed === true && Date.now() >= this.flushingUntil;
  }

  /** False when the batch was put aside for the next flush. */
  private async sendBatch(batch: readonly SpanData[], tries: number): Promise<boolean> {
    this.sending = batch;
    try {
      return await this.deliver(batch, tries);
    } finally {
      this.sending = undefined;
    }
  }

  private async deliver(batch: readonly SpanData[], triesBefore: number): Promise<boolean> {
    for (let attempt = triesBefore + 1; ; attempt++) {
      let result: ExportResult;
      try {
        result = await this.send(batch);
      } catch (error) {
        result = { kind: 'retry', reason: error instanceof Error ? error.name : 'error' };
      }
      if (result.kind === 'ok') {
        this.stats_.exported += batch.length;
        return true;
      }
      if (result.kind === 'rejected') {
        this.stats_.droppedRejected += batch.length;
        this.report('tracing_export_rejected', result.reason);
        return true;
      }
      if (result.kind === 'failed' || attempt >= this.options.maxAttempts || this.closed) return this.dropFailed(batch, result.reason);
      this.stats_.retries++;
      const wait = result.afterMs ?? this.backoff(attempt);
      if (this.options.onlyWhenFlushed && Date.now() + wait >= this.flushingUntil) {
        this.deferred = { batch, tries: attempt };
        return false;
      }
      await sleep(wait);
      // Closed while waiting: one more try would reach a receiver the owner has let go.
      if (this.closed) return this.dropFailed(batch, result.reason);
    }
  }

  private dropFailed(batch: readonly SpanData[], reason: string): true {
    this.stats_.droppedFailed += batch.length;
    this.report('tracing_export_failed', reason);
    return true;
  }

  /** 1 s, 2 s, 4 s … up to 30 s, each between half and all of that (full jitter would make some waits nothing). */
  private backoff(attempt: number): number {
    const ceiling = Math.min(this.options.backoffMaxMs ?? 30_000, (this.options.backoffBaseMs ?? 1000) * 2 ** (attempt - 1));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  /** At most one line a minute per destination, with the counts so far. */
  private report(event: string, reason: string): void {
    const now = Date.now();
    if (now - this.lastLogAt < LOG_EVERY_MS) {
      this.unlogged++;
      return;
    }
    this.lastLogAt = now;
    this.options.logger.error(event, {
      destination: this.options.label,
      reason,
      suppressed: this.unlogged,
      exported: this.stats_.exported,
      dropped_full: this.stats_.droppedFull,
      dropped_failed: this.stats_.droppedFailed,
      dropped_rejected: this.stats_.droppedRejected,
    });
    this.unlogged = 0;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => unref(setTimeout(resolve, ms)));
}

function unref<T extends { unref(): unknown }>(handle: T): T {
  handle.unref();
  return handle;
}
