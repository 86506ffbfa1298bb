import { parseArgs, type ParseArgsConfig } from 'node:util';
import { errorCode, errorMessage, UsageError } from './io';

type Options = NonNullable<ParseArgsConfig['options']>;

const COMMON = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

/**
 * Strict parsing, so a typo such as `--projct` fails loudly instead of silently listing every
 * project's keys.
 */
export function parseCommandArgs<O extends Options>(command: string, args: readonly string[], options: O, maxPositionals = 0) {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: { ...COMMON, ...options }, strict: true, allowPositionals: true });
  } catch (error) {
    if (errorCode(error)?.startsWith('ERR_PARSE_ARGS_')) throw new UsageError(firstSentence(errorMessage(error)), command);
    throw error;
  }
  const extra = parsed.positionals.slice(maxPositionals);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`, command);
  return parsed;
}

/** Checked before strict parsing, so `--help` works even next to a flag that would be rejected. */
export function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

/** An empty `--project ""` would otherwise create a nameless project. */
export function nonEmpty(value: string | undefined, flag: string, command: string): string | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === '') throw new UsageError(`${flag} must not be empty`, command);
  return value;
}

/** Node appends advice about `--` to unknown-option errors; the option name is what matters. */
function firstSentence(message: string): string {
  const end = message.search(/\.(\s|$)/);
  const sentence = end === -1 ? message : message.slice(0, end);
  return sentence.charAt(0).toLowerCase() + sentence.slice(1);
}
