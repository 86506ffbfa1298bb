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
  /** One outcome per write; `errors[i]` set where write i failed (its outcome is then meaningless). */
  | { readonly seq: number; readonly outcomes: number[]; readonly errors?: (string | null)[] }
  | { readonly seq: number; readonly records: string[] }
  | { readonly seq: number; readonly error: string }
  | { readonly seq: number };
