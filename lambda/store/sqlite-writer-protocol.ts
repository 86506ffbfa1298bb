import type { FileIdentity } from './sqlite-file-guard';

/** What the thread is started with: the store's file, and the files it must still be to be written. */
export interface WriterData {
  readonly file: string;
  readonly files: readonly FileIdentity[];
}

/**
 * Messages between the gateway and its spend writer thread. Writes travel flat: `0, record` for a
 * reservation, `1, id, actualNanos` for a settlement, `2, id` for a release. The thread answers
 * every request, in order.
 */
export type WriterRequest =
  | { readonly type: 'write'; readonly seq: number; readonly ops: readonly (string | number)[] }
  | { readonly type: 'expired'; readonly seq: number; readonly nowIso: string; readonly limit: number }
  | { readonly type: 'sync'; readonly seq: number }
  | { readonly type: 'close'; readonly seq: number };

export type WriterReply =
  /**
   * One outcome per write; `errors[i]` set where write i failed (its outcome is then meaningless).
   * A granted reservation's outcome is {@link GRANTED}, and what its claims' counters hold follows
   * in `used`, flat, granted reservation after granted reservation: `count, used × count`.
   */
  | { readonly seq: number; readonly outcomes: number[]; readonly used?: number[]; readonly errors?: (string | null)[] }
  | { readonly seq: number; readonly records: string[] }
  | { readonly seq: number; readonly error: string }
  | { readonly seq: number };

/** A granted reservation's place in `outcomes` (a refusal is the refusing claim's index, never negative). */
export const GRANTED = -1;

/** Ledger outcomes as they cross the thread: primitives in two flat arrays, the cheapest shape to copy. */
export function encodeOutcomes(outcomes: readonly (number | readonly number[])[]): { outcomes: number[]; used?: number[] } {
  let used: number[] | undefined;
  const flat = outcomes.map((outcome) => {
    if (typeof outcome === 'number') return outcome;
    (used ??= []).push(outcome.length, ...outcome);
    return GRANTED;
  });
  return used ? { outcomes: flat, used } : { outcomes: flat };
}

/** {@link encodeOutcomes} undone. */
export function decodeOutcomes(outcomes: readonly number[], used: readonly number[] = []): (number | number[])[] {
  let at = 0;
  return outcomes.map((outcome) => {
    if (outcome !== GRANTED) return outcome;
    const count = used[at] ?? 0;
    const claims = used.slice(at + 1, at + 1 + count);
    at += 1 + count;
    return claims;
  });
}
