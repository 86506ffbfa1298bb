import type { Logger } from '../core/log';
import type { Store } from '../store/port';

/**
 * Settles reservations whose request never did (the process died, the invocation timed out) at
 * their estimate: an upper bound of what they could have cost upstream, so a crash can never
 * let spend slip past a cap — and the hold on the budget ends instead of lasting forever.
 */
export async function reconcileExpired(store: Store, now: Date, logger: Logger, options: { readonly stopping?: () => boolean } = {}): Promise<number> {
  let settled = 0;
  for (;;) {
    const expired = await store.expiredReservations(now, 100);
    if (expired.length === 0) return settled;
    for (const reservation of expired) {
      // Checked between settlements, never during one: a settlement cut in two would lose its spend.
      if (options.stopping?.()) return settled;
      if (await store.settle(reservation, reservation.estimateNanos)) {
        settled++;
        logger.error('reservation_reconciled', {
          reservation: reservation.id,
          nanos: reservation.estimateNanos,
          reserved_at: reservation.at.toISOString(),
          scopes: reservation.scopes.map((s) => `${s.kind}:${s.id}`).join(','),
        });
      }
    }
    if (expired.length < 100) return settled;
  }
}

/**
 * Runs {@link reconcileExpired} every `intervalMs` until stopped; never keeps the process alive.
 * Stopping resolves once a run in progress has finished, so the store can then be closed.
 */
export function startReconciler(store: Store, options: { intervalMs: number; clock: () => Date; logger: Logger }): () => Promise<void> {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = reconcileExpired(store, options.clock(), options.logger)
      .then(
        () => {},
        (error: unknown) => options.logger.error('reconcile_failed', { message: error instanceof Error ? error.message : String(error) }),
      )
      .finally(() => {
        running = undefined;
      });
  }, options.intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
