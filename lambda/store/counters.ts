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
  // Literals, not `{ ...key }`: on Node 20 a spread costs ~20× more, and this runs per request.
  const delta = (kind: string, id: string, period: string): CounterDelta => {
    const mapKey = `${kind}\u0000${id}\u0000${period}`;
    let entry = deltas.get(mapKey);
    if (!entry) {
      entry = { kind, id, period, nanos: 0, committed: 0, requests: 0 };
      deltas.set(mapKey, entry);
    }
    return entry;
  };
  const periods = periodLabels(reservation.at);
  for (const scope of reservation.scopes) {
    for (const period of periods) {
      const entry = delta(scope.kind, scope.id, period);
      entry.nanos += actualNanos;
      entry.committed += actualNanos;
      entry.requests += 1;
    }
  }
  for (const claim of reservation.claims) {
    if (claim.unit === 'requests') continue;
    delta(claim.scope.kind, claim.scope.id, claim.period).committed -= claim.amount;
  }
  return Array.from(deltas.values());
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
  const { id, at, scopes, claims, estimateNanos, expiresAt } = reservation;
  return JSON.stringify({ id, at: at.toISOString(), scopes, claims, estimateNanos, expiresAt: expiresAt.toISOString() });
}

export function parseReservation(text: string): Reservation {
  const raw = JSON.parse(text) as Omit<Reservation, 'at' | 'expiresAt'> & { at: string; expiresAt: string };
  return { ...raw, at: new Date(raw.at), expiresAt: new Date(raw.expiresAt) };
}
