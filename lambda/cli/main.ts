import { wantsHelp } from './args';
import { KEYS_HELP, MAIN_HELP, PRICES_HELP, PROJECTS_HELP, PROVIDERS_HELP, SERVE_HELP, SPEND_HELP, USERS_HELP } from './help';
import { errorMessage, processIo, UsageError, type CliIo } from './io';
import { applyStackTarget } from './stack-target';

const HELP: Readonly<Record<string, string>> = {
  serve: SERVE_HELP,
  projects: PROJECTS_HELP,
  users: USERS_HELP,
  keys: KEYS_HELP,
  providers: PROVIDERS_HELP,
  spend: SPEND_HELP,
  prices: PRICES_HELP,
};

/**
 * Runs one CLI invocation and returns its exit code: 0 ok, 1 failed, 2 bad usage. It never
 * exits the process itself, so tests can call it with their own env and writers.
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  try {
    const target = await applyStackTarget(argv, io); // --stack/--region/--keys-table/--spend-table
    return await dispatch(target.argv, target.io);
  } catch (error) {
    return report(error, io);
  }
}

// Commands load on demand: `serve` pulls in undici, zod and the price tables, which alone
// would more than double the start-up time of `keys list`.
async function dispatch(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) return serve([], io);
  if (command.startsWith('-')) {
    // `tollgate --help` is about the CLI; `tollgate --port 9000` is `serve` with its name left out.
    if (wantsHelp([command])) return printHelp(io, MAIN_HELP);
    return wantsHelp(argv) ? printHelp(io, SERVE_HELP) : serve(argv, io);
  }
  switch (command) {
    case 'serve':
      return wantsHelp(rest) ? printHelp(io, SERVE_HELP) : serve(rest, io);
    case 'projects':
      return (await import('./projects')).projectsCommand(rest, io);
    case 'users':
      return (await import('./users')).usersCommand(rest, io);
    case 'keys': {
      const { keysCommand } = await import('./keys');
      return keysCommand(rest, io);
    }
    case 'providers':
      return (await import('./providers')).providersCommand(rest, io);
    case 'spend': {
      if (wantsHelp(rest)) return printHelp(io, SPEND_HELP);
      const { spendCommand } = await import('./spend');
      return spendCommand(rest, io);
    }
    case 'prices':
      return (await import('./prices')).pricesCommand(rest, io);
    case 'help': {
      const topic = rest[0];
      if (topic === undefined) return printHelp(io, MAIN_HELP);
      const text = Object.hasOwn(HELP, topic) ? HELP[topic] : undefined;
      if (text === undefined) throw new UsageError(`no help for unknown command "${topic}"`);
      return printHelp(io, text);
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function serve(args: readonly string[], io: CliIo): Promise<number> {
  const { serveCommand } = await import('./serve');
  return serveCommand(args, io);
}

function printHelp(io: CliIo, text: string): number {
  io.stdout.write(text);
  return 0;
}

function report(error: unknown, io: CliIo): number {
  if (error instanceof UsageError) {
    const help = error.command === undefined ? 'tollgate --help' : `tollgate ${error.command} --help`;
    io.stderr.write(`tollgate: ${error.message}\nRun "${help}" for usage.\n`);
    return 2;
  }
  // Config, store and bind errors are the operator's to fix, and their message says how; a stack would bury it.
  io.stderr.write(`tollgate: ${errorMessage(error)}\n`);
  return 1;
}
