/** How an upstream body ended, as far as the gateway could see. */
export type BodyOutcome =
  | { readonly kind: 'complete' }
  /** The client stopped reading; the gateway read the upstream to its end anyway. */
  | { readonly kind: 'client-gone'; readonly upstreamComplete: boolean }
  | { readonly kind: 'upstream-failed'; readonly error: unknown };

/**
 * Hands each upstream chunk on unchanged while showing it to `observe`, then calls `settle`
 * exactly once — after a normal end, an upstream failure, or the consumer returning early.
 *
 * ```
 * upstream ──chunk──▶ observe(chunk) ──▶ yield to client ──▶ ... ──▶ end / error / return()
 *                                                                      │
 *                                            (client gone: keep reading upstream, observing)
 *                                                                      ▼
 *                                                              await settle(outcome)
 * ```
 * Settling inside `finally` means whoever awaits the iteration — the Lambda adapter above all,
 * where stray promises die with the invocation — has waited for the spend write too.
 *
 * When the upstream fails, `ending` may give the bytes that tell the client so in its API's own
 * stream shape: they are sent in place of the error, and the body ends there. Without them the
 * error is thrown on, and the adapter cuts the connection: either way, never a clean end.
 */
export async function* meteredBody(
  upstream: AsyncIterable<Uint8Array>,
  observe: (chunk: Uint8Array) => void,
  settle: (outcome: BodyOutcome) => Promise<void>,
  ending?: (error: unknown) => Uint8Array | undefined,
): AsyncGenerator<Uint8Array, void, undefined> {
  const iterator = upstream[Symbol.asyncIterator]();
  let outcome: BodyOutcome | undefined;
  try {
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await iterator.next();
      } catch (error) {
        outcome = { kind: 'upstream-failed', error };
        const last = ending?.(error);
        if (last === undefined) throw error;
        yield last;
        return;
      }
      if (next.done) {
        outcome = { kind: 'complete' };
        return;
      }
      observe(next.value);
      yield next.value;
    }
  } finally {
    // Still undefined here means the consumer returned early: the client went away.
    outcome ??= { kind: 'client-gone', upstreamComplete: await drain(iterator, observe) };
    await settle(outcome);
  }
}

async function drain(iterator: AsyncIterator<Uint8Array>, observe: (chunk: Uint8Array) => void): Promise<boolean> {
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) return true;
      observe(next.value);
    }
  } catch {
    return false;
  }
}

/**
 * {@link meteredBody} for a document already read whole: one chunk, then `settle` exactly once,
 * as the iteration ends or is left early. A plain iterator rather than two stacked async
 * generators: every response that is not a stream goes through here, and each generator step
 * costs promises and microtask turns.
 */
export function settledDocument(document: Uint8Array, settle: (outcome: BodyOutcome) => Promise<void>): AsyncIterable<Uint8Array> {
  let sent = false;
  let settling: Promise<void> | undefined;
  const finish = async (outcome: BodyOutcome): Promise<IteratorReturnResult<undefined>> => {
    await (settling ??= settle(outcome));
    return { done: true, value: undefined };
  };
  const iterator: AsyncIterator<Uint8Array, undefined> = {
    next() {
      if (sent || settling) return finish({ kind: 'complete' });
      sent = true;
      return Promise.resolve({ done: false, value: document });
    },
    // The consumer stopped early (the client went away): the upstream was read to its end already.
    return: () => finish({ kind: 'client-gone', upstreamComplete: true }),
  };
  return { [Symbol.asyncIterator]: () => iterator };
}
