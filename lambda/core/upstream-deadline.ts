import type { Dispatcher } from 'undici';
import type { Logger } from './log';

/** Why an upstream call was stopped: its response, headers and body together, outlasted `upstream.totalTimeoutMs`. */
export class UpstreamDeadlineError extends Error {
  readonly code = 'TOLLGATE_UPSTREAM_DEADLINE';

  constructor(readonly limitMs: number) {
    super(`the upstream response took longer than the gateway allows one response (${Math.round(limitMs / 1000)} s)`);
    this.name = 'UpstreamDeadlineError';
  }
}

/** The longest delay node's timers take; a longer one would fire after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Bounds each upstream call as a whole. undici bounds the wait for headers and each silence
 * inside a body, not a body's length: an upstream that drips a byte every few seconds would hold
 * its request, its key slot, its reservation and a pool connection for as long as it liked. Past
 * `limitMs` the call is aborted with an {@link UpstreamDeadlineError}, which the core meets as any
 * upstream that broke off: a 504 before the headers, else the stream ends with the API's own
 * error, settled at the usage seen so far or its reservation. On Lambda, `InvocationDeadline`
 * bounds the whole invocation instead.
 *
 * ```
 * request ─▶ timer(limitMs) ─┬─ body closes first (end, error, discard): timer cleared
 *                            └─ fires: abort(UpstreamDeadlineError) ─▶ upstream_deadline logged
 * ```
 *
 * @example
 * const upstream = withUpstreamDeadline(createUpstreamAgent(config.upstream), config.upstream.totalTimeoutMs, logger);
 */
export function withUpstreamDeadline(dispatcher: Dispatcher, limitMs: number, logger: Logger): Dispatcher {
  const bounded = async (options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData> => {
    const controller = new AbortController();
    let body: Dispatcher.ResponseData['body'] | undefined;
    const timer = setTimeout(() => {
      // A body read to its end but never closed has nothing left to stop.
      if (body?.readableEnded === true) return;
      logger.error('upstream_deadline', { origin: String(options.origin), method: options.method, total_timeout_ms: limitMs });
      controller.abort(new UpstreamDeadlineError(limitMs));
    }, Math.min(limitMs, MAX_TIMER_MS));
    timer.unref();
    const given = options.signal;
    const signal = given instanceof AbortSignal ? AbortSignal.any([given, controller.signal]) : controller.signal;
    try {
      const response = await dispatcher.request({ ...options, signal });
      body = response.body;
      body.once('close', () => clearTimeout(timer));
      return response;
    } catch (error) {
      clearTimeout(timer);
      throw error;
    }
  };
  const request = (options: Dispatcher.RequestOptions, ...callback: unknown[]): unknown => {
    // The callback form, and a signal that is an EventEmitter, are not the gateway's: passed on as they are.
    const foreign = callback.length > 0 || (options.signal != null && !(options.signal instanceof AbortSignal));
    return foreign ? (dispatcher.request.bind(dispatcher) as (...args: unknown[]) => unknown)(options, ...callback) : bounded(options);
  };
  return new Proxy(dispatcher, {
    get(target, property, receiver) {
      if (property === 'request') return request;
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
