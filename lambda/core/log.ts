/**
 * Structured, one line per event. Callers pass only the fields they mean to publish: no headers,
 * no bodies and no keys ever reach a log line through here.
 */
export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  info(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

export const jsonLogger: Logger = {
  info: (event, fields) => process.stdout.write(`${JSON.stringify({ level: 'info', event, ...fields })}\n`),
  error: (event, fields) => process.stderr.write(`${JSON.stringify({ level: 'error', event, ...fields })}\n`),
};

export const silentLogger: Logger = { info: () => {}, error: () => {} };
