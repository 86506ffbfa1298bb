import type { Readable } from 'node:stream';
import { GatewayError } from '../core/errors';

/** How long a client may take to send its request body (`config.server`). */
export interface BodyTimeouts {
  /** The whole body, counted from the request's arrival. */
  readonly bodyTimeoutMs: number;
  /** The longest silence while the gateway waits for more of the body. */
  readonly bodyIdleTimeoutMs: number;
}

/**
 * A request body as the core's async iterable, read with 'data' and 'end' events. Readable's own
 * async iterator costs a few µs more per request in promises and stream bookkeeping (measured in
 * the bench's profile), and most request bodies arrive as one chunk.
 *
 * `onRead` runs when the core starts reading (HTTP/1 sends `100 Continue` there). With
 * `timeouts`, a body that does not arrive in time fails the read with a `request_timeout`
 * GatewayError (408) and stops being read. A body the core stops reading early is left unread,
 * never drained: the adapters close the connection (HTTP/1) or reset the stream (HTTP/2) after
 * the response instead, so a client cannot make the gateway read gigabytes it will never use.
 *
 * @example
 * const body = requestBody(req, { bodyTimeoutMs: 120_000, bodyIdleTimeoutMs: 30_000 });
 * const raw = await readBody(body, limit); // throws GatewayError('request_timeout') on a stalled client
 */
export function requestBody(req: Readable, timeouts?: BodyTimeouts, onRead?: () => void): AsyncIterable<Uint8Array> {
  const arrivedAt = Date.now();
  return {
    [Symbol.asyncIterator]: () => {
      onRead?.();
      return new RequestBodyIterator(req, timeouts, arrivedAt);
    },
  };
}

/** Chunks held before the request is paused: backpressure for a consumer slower than the socket. */
const HIGH_WATER_CHUNKS = 16;
/** The longest delay node's timers take (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

class RequestBodyIterator implements AsyncIterator<Uint8Array> {
  private readonly chunks: Uint8Array[] = [];
  private ended = false;
  private failure: Error | undefined;
  private waiting: (() => void)[] = [];
  /** One timer per body, armed only while a read waits: most bodies are in memory before the first read. */
  private timer: NodeJS.Timeout | undefined;
  /** When bytes last arrived, or reading (re)started: silence the gateway caused is not the client's. */
  private lastProgressAt = Date.now();

  constructor(
    private readonly req: Readable,
    private readonly timeouts: BodyTimeouts | undefined,
    private readonly arrivedAt: number,
  ) {
    // Never removed: an error after the consumer is done must still not go unhandled.
    req.on('error', this.onError);
    // The core may start reading only after awaits of its own: by then the request can be over.
    if (req.readableEnded) {
      this.ended = true;
      return;
    }
    if (req.destroyed) {
      this.failure = req.errored ?? new Error('the client closed the connection before its request body was read');
      return;
    }
    req.on('data', this.onData);
    req.on('end', this.onEnd);
    req.on('close', this.onClose);
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk) {
        if (this.chunks.length === 0 && this.req.isPaused()) {
          this.lastProgressAt = Date.now();
          this.req.resume();
        }
        return { done: false, value: chunk };
      }
      if (this.failure) {
        this.detach();
        throw this.failure;
      }
      if (this.ended) {
        this.detach();
        return { done: true, value: undefined };
      }
      if (this.timeouts && !this.timer) this.arm(this.timeouts);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  /** The consumer stopped early (a body over the limit): what is left stays unread, and the adapter closes. */
  async return(): Promise<IteratorResult<Uint8Array>> {
    this.detach();
    this.chunks.length = 0;
    this.ended = true;
    this.req.pause();
    this.notify();
    return { done: true, value: undefined };
  }

  private arm(timeouts: BodyTimeouts): void {
    const due = Math.min(this.arrivedAt + timeouts.bodyTimeoutMs, this.lastProgressAt + timeouts.bodyIdleTimeoutMs);
    // Clamped: node fires a longer timer after 1 ms. Firing early only re-arms.
    this.timer = setTimeout(this.onTimer, Math.min(Math.max(0, due - Date.now()), MAX_TIMER_MS));
    // A body nobody reads any more must not keep the process alive.
    this.timer.unref();
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    const timeouts = this.timeouts;
    if (!timeouts || this.ended || this.failure) return;
    const now = Date.now();
    if (now >= this.arrivedAt + timeouts.bodyTimeoutMs) {
      this.timeOut(`The request body did not arrive within ${seconds(timeouts.bodyTimeoutMs)}; the gateway stopped waiting for it.`);
    } else if (this.waiting.length > 0 && now >= this.lastProgressAt + timeouts.bodyIdleTimeoutMs) {
      this.timeOut(`The request body stalled: nothing arrived for ${seconds(timeouts.bodyIdleTimeoutMs)}; the gateway stopped waiting for it.`);
    } else if (this.waiting.length > 0) {
      this.arm(timeouts);
    }
  };

  private timeOut(message: string): void {
    this.failure = new GatewayError('request_timeout', message);
    this.chunks.length = 0;
    this.detach();
    this.req.pause();
    this.notify();
  }

  private readonly onData = (chunk: Uint8Array): void => {
    this.lastProgressAt = Date.now();
    this.chunks.push(chunk);
    if (this.chunks.length >= HIGH_WATER_CHUNKS) this.req.pause();
    this.notify();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.notify();
  };

  // 'close' before 'end': the client went away in the middle of its body.
  private readonly onClose = (): void => {
    if (!this.ended) this.failure ??= new Error('the client closed the connection before its request body ended');
    this.notify();
  };

  private readonly onError = (error: Error): void => {
    this.failure ??= error;
    this.notify();
  };

  private notify(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const wake of waiting) wake();
  }

  private detach(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.req.off('data', this.onData);
    this.req.off('end', this.onEnd);
    this.req.off('close', this.onClose);
  }
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
