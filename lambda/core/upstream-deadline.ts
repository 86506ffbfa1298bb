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

/** A response whose body is still arriving: when it is over time. */
interface Call {
  readonly until: number;
  readonly options: Dispatcher.RequestOptions;
  readonly body: Dispatcher.ResponseData['body'];
}

/**
 * Bounds each upstream call as a whole. undici bounds the wait for headers and each silence
 * inside a body, not a body's length: an upstream that drips a byte every few seconds would hold
 * its request, its key slot, its reservation and a pool connection for as long as it liked. Past
 * `limitMs` the body is destroyed with an {@link UpstreamDeadlineError}, which the core meets as
 * any upstream that broke off: the stream ends with the API's own error, settled at the usage seen
 * so far or its reservation. The wait for headers is undici's own `headersTimeout`, which the
 * caller caps at `limitMs` (see {@link headersTimeoutWithin}). On Lambda, `InvocationDeadline`
 * bounds the whole invocation instead.
 *
 * One unref'd sweep over the bodies in flight, not a timer and an `AbortController` per call:
 * those cost ~5 µs of every request's event-loop time (measured in session 7) to guard against a
 * rare upstream. The price is precision: a body is stopped up to one tick (≤ 1 s) after its limit.
 *
 * ```
 * request ─▶ headers (undici's headersTimeout ≤ limitMs) ─▶ body in flight ─┬─ closes first (end, error, discard): forgotten
 *                                                                           └─ sweep finds it over time: upstream_deadline logged, body destroyed
 * ```
 *
 * @example
 * const upstream = withUpstreamDeadline(createUpstreamAgent(headersTimeoutWithin(config.upstream)), config.upstream.totalTimeoutMs, logger);
 */
export function withUpstreamDeadline(dispatcher: Dispatcher, limitMs: number, logger: Logger): Dispatcher {
  const tickMs = Math.max(10, Math.min(1000, Math.floor(limitMs / 10)));
  const inFlight = new Set<Call>();
  let sweeper: NodeJS.Timeout | undefined;

  const sweep = (): void => {
    const now = Date.now();
    for (const call of inFlight) {
      if (call.until > now) continue;
      inFlight.delete(call);
      // A body read to its end but never closed has nothing left to stop.
      if (call.body.readableEnded) continue;
      logger.error('upstream_deadline', { origin: String(call.options.origin), method: call.options.method, total_timeout_ms: limitMs });
      call.body.destroy(new UpstreamDeadlineError(limitMs));
    }
    if (inFlight.size === 0 && sweeper) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };

  const bounded = async (options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData> => {
    const until = Date.now() + limitMs;
    const response = await dispatcher.request(options);
    const call: Call = { until, options, body: response.body };
    inFlight.add(call);
    response.body.once('close', () => inFlight.delete(call));
    if (!sweeper) {
      sweeper = setInterval(sweep, tickMs);
      sweeper.unref();
    }
    return response;
  };
  const request = (options: Dispatcher.RequestOptions, ...callback: unknown[]): unknown =>
    // The callback form is not the gateway's: passed on as it is.
    callback.length > 0 ? (dispatcher.request.bind(dispatcher) as (...args: unknown[]) => unknown)(options, ...callback) : bounded(options);
  return new Proxy(dispatcher, {
    get(target, property, receiver) {
      if (property === 'request') return request;
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** Upstream settings whose wait for headers ends by the overall limit, so the whole response is bounded by it. */
export function headersTimeoutWithin<T extends { readonly firstByteTimeoutMs: number; readonly totalTimeoutMs: number }>(settings: T): T {
  return settings.firstByteTimeoutMs <= settings.totalTimeoutMs ? settings : { ...settings, firstByteTimeoutMs: settings.totalTimeoutMs };
}
