import { parseReservation, serializeReservation } from '../../lambda/store/counters';
import type { Reservation } from '../../lambda/store/port';

/** The record both stores keep per reservation for crash recovery: what goes in must come back out. */
describe('reservation record', () => {
  const reservation: Reservation = {
    id: '6f1c1f4e-9a43-4d8e-8f0a-3c1b2a9d7e55',
    at: new Date('2026-11-27T10:00:00.123Z'),
    // Names are whatever the operator typed: quotes, backslashes, commas, brackets, emoji.
    scopes: [
      { kind: 'key', id: 'a1b2c3d4e5f6' },
      { kind: 'project', id: 'acme "prod", [eu]\\' },
      { kind: 'user', id: 'zoë 🦊\n' },
    ],
    claims: [
      { scope: { kind: 'key', id: 'a1b2c3d4e5f6' }, period: 'day:2026-11-27', unit: 'nanos', amount: 1_500_000, limit: 5_000_000_000, rule: 'within' },
      { scope: { kind: 'project', id: 'acme "prod", [eu]\\' }, period: 'month:2026-11', unit: 'nanos', amount: 0, limit: 9_007_199_254_740_991, rule: 'under' },
      { scope: { kind: 'key', id: 'a1b2c3d4e5f6' }, period: 'minute:2026-11-27T10:00', unit: 'requests', amount: 1, limit: 60, rule: 'within' },
      { scope: { kind: 'key', id: 'a1b2c3d4e5f6' }, period: 'inflight', unit: 'inflight', amount: 1, limit: 4, rule: 'within' },
    ],
    estimateNanos: 1_500_000,
    expiresAt: new Date('2026-11-27T10:20:00.123Z'),
  };

  it('round-trips every field, names with any characters included', () => {
    expect(parseReservation(serializeReservation(reservation))).toEqual(reservation);
  });

  it('round-trips a reservation with no claims and one scope', () => {
    const bare: Reservation = { ...reservation, scopes: [{ kind: 'key', id: 'k' }], claims: [], estimateNanos: 0 };
    expect(parseReservation(serializeReservation(bare))).toEqual(bare);
  });

  it('is valid JSON', () => {
    expect(() => JSON.parse(serializeReservation(reservation))).not.toThrow();
  });

  it('still reads the object form that stores written before it hold', () => {
    const legacy = JSON.stringify({ ...reservation, at: reservation.at.toISOString(), expiresAt: reservation.expiresAt.toISOString() });
    expect(parseReservation(legacy)).toEqual(reservation);
  });
});
