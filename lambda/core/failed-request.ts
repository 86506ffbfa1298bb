import type { ProviderSettings } from '../config/config';

/** What the line reporting a failed request (`request_rejected`) needs to know beyond its error. */
export interface FailedRequest {
  /** The account the request's last attempt went to; undefined when it failed before any attempt. */
  account?: ProviderSettings;
  /** Its settlement was logged (`request_settled`, which counts the request and its error). */
  settled?: true;
}

/**
 * Kept beside the error as it travels up to the gateway's error response, and only on the failure
 * path: a request that succeeds allocates nothing for it. Keyed weakly: an error that is dropped
 * takes its note with it.
 */
const notes = new WeakMap<object, FailedRequest>();

function noteOf(error: unknown): FailedRequest | undefined {
  if ((typeof error !== 'object' && typeof error !== 'function') || error === null) return undefined;
  let note = notes.get(error);
  if (note === undefined) {
    note = {};
    notes.set(error, note);
  }
  return note;
}

/** Notes that `error` ended its request on an attempt at `account` (the first note stands); returns `error`, to be thrown. */
export function failedOn(error: unknown, account: ProviderSettings): unknown {
  const note = noteOf(error);
  if (note && note.account === undefined) note.account = account;
  return error;
}

/** Notes that `error`'s request was settled, so counted, before it failed; returns `error`, to be thrown. */
export function settledBefore(error: unknown): unknown {
  const note = noteOf(error);
  if (note) note.settled = true;
  return error;
}

/** What was noted of the request `error` ended; undefined when nothing was (it ended before any attempt). */
export function failedRequest(error: unknown): FailedRequest | undefined {
  return (typeof error === 'object' || typeof error === 'function') && error !== null ? notes.get(error) : undefined;
}
