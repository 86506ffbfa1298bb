import type { Reservation, ReserveOutcome, Store } from '../store/port';
import { GatewayError } from './errors';
import type { LogFields, Logger } from './log';

/** Seconds a client is asked to wait before retrying a request the store could not take. */
const RETRY_AFTER_SECONDS = '1';

/** The store failed one of its operations: the request is answered 503, in its API's shape, and nothing is forwarded. */
export class StoreUnavailableError extends GatewayError {
  constructor(
    readonly operation: string,
    cause: unknown,
  ) {
    super('store_unavailable', 'The gateway cannot reach its spend store right now, so it forwarded nothing; retry shortly.', {
      cause,
      headers: { 'retry-after': RETRY_AFTER_SECONDS },
    });
    this.name = 'StoreUnavailableError';
  }
}

/**
 * Logs a failed store operation as `store_unavailable`: its class and message (the store's errors
 * carry no credential), and whatever else the caller knows of it. One line per request: it is
 * what the `StoreFailures` metric counts.
 */
export function logStoreUnavailable(logger: Logger, operation: string, error: unknown, fields?: LogFields): void {
  logger.error('store_unavailable', {
    operation,
    error: error instanceof Error ? error.name : typeof error,
    message: error instanceof Error ? error.message : String(error),
    ...fields,
  });
}

/**
 * The store as the gateway should see it: an operation that throws (a dead SQLite writer, a
 * DynamoDB error, a store file moved away) is logged once per request as `store_unavailable` and
 * rethrown as a {@link StoreUnavailableError}, which each format renders as its API's 503.
 * Without it the failure was an anonymous 500 that the SDKs cannot tell from a gateway bug. Where
 * it happens decides what follows: a failed reserve or key lookup forwards nothing; a failed
 * settlement is retried by the meter, which logs it once with its attempts (`settleReservation`
 * in meter-response.ts, so it is not logged here), then as `spend_write_failed`, and leaves it
 * to the reconciler.
 *
 * @example
 * const gateway = createGateway({ ...deps, store: storeFailuresAsUnavailable(store, logger) });
 */
export function storeFailuresAsUnavailable(store: Store, logger: Logger): Store {
  const guarded = new Map<PropertyKey, unknown>();
  // A reserve that threw may still have been recorded (SQLite's writer died after its commit;
  // DynamoDB's parallel claims, or their undo, partly applied), so the gateway hands the
  // reservation back. When the store is down that fails too: the same outage, of the same
  // request, logged and counted once, by the reserve.
  const unreserved = new WeakSet<Reservation>();
  const fail = (operation: string, logged: boolean) => (error: unknown): never => {
    if (error instanceof GatewayError) throw error;
    if (logged) logStoreUnavailable(logger, operation, error);
    throw new StoreUnavailableError(operation, error);
  };
  const failReserve = fail('reserve', true);
  const reserve = async (reservation: Reservation): Promise<ReserveOutcome> => {
    try {
      return await store.reserve(reservation);
    } catch (error) {
      unreserved.add(reservation);
      return failReserve(error);
    }
  };
  return new Proxy(store, {
    get(target, property) {
      if (property === 'reserve') return reserve;
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || property === 'close') return value;
      let wrapped = guarded.get(property);
      if (wrapped === undefined) {
        const method = value as (...args: unknown[]) => unknown;
        // A settlement is retried, and its failure logged once, by its caller.
        const onError = fail(String(property), property !== 'settle');
        const quietly = fail(String(property), false);
        // One wrapper per method, made once: the hot path pays a `.then`, not an allocation of closures.
        wrapped = (...args: unknown[]): unknown => {
          const handler = unreserved.has(args[0] as Reservation) ? quietly : onError;
          let result: unknown;
          try {
            result = method.apply(target, args);
          } catch (error) {
            return Promise.reject(error).catch(handler);
          }
          return result instanceof Promise ? result.catch(handler) : result;
        };
        guarded.set(property, wrapped);
      }
      return wrapped;
    },
  });
}
