import type { LogFields, Logger } from '../../lambda/core/log';

export interface Logged {
  readonly level: 'info' | 'error';
  readonly event: string;
  readonly fields: LogFields;
}

/** A logger that keeps every event with its fields, so a test can read what was logged and alerted. */
export function recordingLogger(): Logger & { readonly lines: Logged[] } {
  const lines: Logged[] = [];
  return {
    lines,
    info: (event, fields = {}) => lines.push({ level: 'info', event, fields }),
    error: (event, fields = {}) => lines.push({ level: 'error', event, fields }),
  };
}
