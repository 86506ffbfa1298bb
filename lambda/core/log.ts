/**
 * Structured, one line per event. Callers pass only the fields they mean to publish: no headers,
 * no bodies and no keys ever reach a log line through here.
 */
export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  info(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

/** Anything with `write(string)`: `process.stdout`, or a collector in tests. */
export interface LineWriter {
  write(text: string): unknown;
}

/** `{"level":…,"event":…,…fields}` and a newline; the fields are serialised as given, not copied first. */
export function logLine(level: 'info' | 'error', event: string, fields?: LogFields): string {
  const head = `{"level":"${level}","event":${JSON.stringify(event)}`;
  const rest = fields === undefined ? '{}' : JSON.stringify(fields);
  return rest === '{}' ? `${head}}\n` : `${head},${rest.slice(1)}\n`;
}

export const jsonLogger: Logger = {
  info: (event, fields) => process.stdout.write(logLine('info', event, fields)),
  error: (event, fields) => process.stderr.write(logLine('error', event, fields)),
};

export interface BatchingLogger extends Logger {
  /** Writes the lines held so far, at once: before the process exits, and on shutdown. */
  flush(): void;
}

/**
 * For a long-running server: info lines logged within one event-loop turn go out in one write
 * (to a terminal, file or pipe, `process.stdout` writes synchronously, one system call each: a
 * line per request would be a system call per request). A line waits at most for the end of its
 * turn. Errors are written at once.
 */
export function batchingLogger(stdout: LineWriter, stderr: LineWriter): BatchingLogger {
  let held = '';
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (held === '') return;
    const lines = held;
    held = '';
    stdout.write(lines);
  };
  return {
    info(event, fields) {
      held += logLine('info', event, fields);
      if (held.length >= MAX_HELD_CHARS) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    error: (event, fields) => stderr.write(logLine('error', event, fields)),
    flush,
  };
}

/** A turn that logs more than this writes what it has and goes on holding. */
const MAX_HELD_CHARS = 64 * 1024;

export const silentLogger: Logger = { info: () => {}, error: () => {} };
