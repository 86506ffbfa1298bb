import type { Readable } from 'node:stream';

/**
 * A request body as the core's async iterable, read with 'data' and 'end' events. Readable's own
 * async iterator costs a few µs more per request in promises and stream bookkeeping (measured in
 * the bench's profile), and most request bodies arrive as one chunk.
 */
export function requestBody(req: Readable): AsyncIterable<Uint8Array> {
  return { [Symbol.asyncIterator]: () => new RequestBodyIterator(req) };
}

/** Chunks held before the request is paused: backpressure for a consumer slower than the socket. */
const HIGH_WATER_CHUNKS = 16;

class RequestBodyIterator implements AsyncIterator<Uint8Array> {
  private readonly chunks: Uint8Array[] = [];
  private ended = false;
  private failure: Error | undefined;
  private waiting: (() => void)[] = [];

  constructor(private readonly req: Readable) {
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
        if (this.chunks.length === 0 && this.req.isPaused()) this.req.resume();
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
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  /** The consumer stopped early (a body over the limit): the rest is read and dropped, so the answer can still be sent. */
  async return(): Promise<IteratorResult<Uint8Array>> {
    this.detach();
    this.chunks.length = 0;
    this.ended = true;
    this.req.resume();
    this.notify();
    return { done: true, value: undefined };
  }

  private readonly onData = (chunk: Uint8Array): void => {
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
    this.req.off('data', this.onData);
    this.req.off('end', this.onEnd);
    this.req.off('close', this.onClose);
  }
}
