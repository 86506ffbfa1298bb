import type { LogFields, Logger } from '../../lambda/core/log';

export interface Logged {
  readonly event: string;
  readonly fields: LogFields;
}

/** A logger that keeps every event with its fields, so a test can read what was logged and alerted. */
export function recordingLogger(): Logger & { readonly lines: Logged[] } {
  const lines: Logged[] = [];
  const keep = (event: string, fields: LogFields = {}) => lines.push({ event, fields });
  return { lines, info: keep, error: keep };
}
