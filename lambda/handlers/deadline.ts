import type { Dispatcher } from 'undici';
import { GatewayTimeLimitError } from '../core/errors';

/** Why an upstream call was stopped: the invocation was about to be cut by its timeout. */
export class InvocationDeadlineError extends GatewayTimeLimitError {
  constructor(remainingMs: number) {
    super(`the Lambda invocation had ${Math.round(remainingMs / 1000)} s left: the upstream call was stopped so that its spend could be recorded before the timeout`);
    this.name = 'InvocationDeadlineError';
  }
}

/**
 * Lambda ends an invocation at its timeout without warning: a stream still running then is cut
 * with nothing settled, and only the reconciler charges it, at its estimate, minutes later. This
 * stops every upstream call of the invocation a margin before the timeout instead: the core sees
 * the upstream break off (a 504 before the response's headers, a cut stream after), records what
 * arrived — or the reservation, if the usage never did — and the response is cut while the
 * invocation can still finish.
 *
 * ```
 * invocation ──▶ arm(remaining − margin) ──▶ upstream.request({ signal }) ──▶ … ─┬─ ends first: disarm
 *                                                                               └─ deadline: abort ─▶ settle ─▶ cut
 * ```
 * Lambda runs one invocation at a time per sandbox, so one deadline at a time is enough.
 *
 * @example
 * const deadline = new InvocationDeadline(30_000);
 * const upstream = deadline.bind(createUpstreamAgent(config.upstream));
 * await deadline.during(context.getRemainingTimeInMillis(), () => serve(event));
 */
export class InvocationDeadline {
  private signal: AbortSignal | undefined;

  constructor(private readonly marginMs: number) {}

  /** Runs one invocation with its upstream calls stopped `marginMs` before the time it has left. */
  async during<T>(remainingMs: number, run: () => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new InvocationDeadlineError(this.marginMs)), Math.max(0, remainingMs - this.marginMs));
    this.signal = controller.signal;
    try {
      return await run();
    } finally {
      clearTimeout(timer);
      this.signal = undefined;
    }
  }

  /**
   * The dispatcher as the gateway should see it: every `request` carries the current invocation's
   * signal (undici aborts the wait for headers, or the body stream, with its reason).
   */
  bind(dispatcher: Dispatcher): Dispatcher {
    return new Proxy(dispatcher, {
      get: (target, property, receiver) => {
        if (property !== 'request') {
          const value = Reflect.get(target, property, receiver) as unknown;
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        }
        return (options: Dispatcher.RequestOptions, ...rest: unknown[]) => {
          const signal = this.signal;
          const request = target.request.bind(target) as (...args: unknown[]) => unknown;
          return request(signal && options.signal === undefined ? { ...options, signal } : options, ...rest);
        };
      },
    });
  }
}
