import { periodLabels } from './periods';
import type { Claim, Reservation } from './port';

/** One counter row/item: a scope in one period (or a rate counter). */
export interface CounterKey {
  readonly kind: string;
  readonly id: string;
  readonly period: string;
}

export interface CounterDelta extends CounterKey {
  nanos: number;
  committed: number;
  requests: number;
}

/**
 * What settling a reservation does to each counter, merged so each counter is written once:
 * every spend period of every scope gains the actual cost and a request, and each claim hands
 * back what it held (a request-rate claim keeps its count: the request did happen).
 */
export function settlementDeltas(reservation: Reservation, actualNanos: number): CounterDelta[] {
  const deltas = new Map<string, CounterDelta>();
  const delta = (key: CounterKey): CounterDelta => {
    const id = `${key.kind}\u0000${key.id}\u0000${key.period}`;
    let entry = deltas.get(id);
    if (!entry) {
      entry = { ...key, nanos: 0, committed: 0, requests: 0 };
      deltas.set(id, entry);
    }
    return entry;
  };
  for (const scope of reservation.scopes) {
    for (const period of periodLabels(reservation.at)) {
      const entry = delta({ kind: scope.kind, id: scope.id, period });
      entry.nanos += actualNanos;
      entry.committed += actualNanos;
      entry.requests += 1;
    }
  }
  for (const claim of reservation.claims) {
    if (claim.unit === 'requests') continue;
    delta(claimKey(claim)).committed -= claim.amount;
  }
  return [...deltas.values()];
}

export function claimKey(claim: Claim): CounterKey {
  return { kind: claim.scope.kind, id: claim.scope.id, period: claim.period };
}

/** Spend periods are what `getSpend` reports; rate counters are bookkeeping. */
export function isSpendPeriod(period: string): boolean {
  return period === 'lifetime' || period.startsWith('day:') || period.startsWith('week:') || period.startsWith('month:');
}

/** JSON form of a reservation, as both adapters persist it for crash recovery. */
export function serializeReservation(reservation: Reservation): string {
  return JSON.stringify({ ...reservation, at: reservation.at.toISOString(), expiresAt: reservation.expiresAt.toISOString() });
}

export function parseReservation(text: string): Reservation {
  const raw = JSON.parse(text) as Omit<Reservation, 'at' | 'expiresAt'> & { at: string; expiresAt: string };
  return { ...raw, at: new Date(raw.at), expiresAt: new Date(raw.expiresAt) };
}
