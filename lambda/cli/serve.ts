import { boundHeapGrowth } from '../app/heap-growth';
import { startLocalGateway, type RunningGateway } from '../app/local-gateway';
import { openStoreFromEnv } from '../app/open-store';
import { loadConfig, type GatewayConfig } from '../config/config';
import { batchingLogger, type BatchingLogger, type Logger } from '../core/log';
import { issueKey, type IssuedKey } from '../keys/issue-key';
import type { Store } from '../store/port';
import { parseCommandArgs } from './args';
import { CliFailure, errorCode, UsageError, type CliIo } from './io';

export const DEFAULT_PROJECT = 'default';

export async function serveCommand(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'serve';
  const { values } = parseCommandArgs(command, args, { port: { type: 'string' }, host: { type: 'string' } });
  const port = values.port !== undefined ? parsePort(values.port, '--port', command) : parsePort(io.env['PORT'] ?? '8787', 'PORT');
  const host = values.host ?? (io.env['TOLLGATE_HOST'] || '127.0.0.1');
  const json = values.json === true;

  // Config first: a broken config file should fail before anything touches the data directory.
  const config = loadConfig(io.env, io.cwd ?? process.cwd());
  warnMissingCredentials(config, io);

  const store = await openStoreFromEnv(io.env);
  boundHeapGrowth();
  // Request log lines are written once per event-loop turn; whatever is held goes out on exit.
  const logger = batchingLogger(io.stdout, io.stderr);
  process.once('exit', logger.flush);
  try {
    await serveUntilStopped(store, config, io, { port, host, json }, logger);
  } finally {
    logger.flush();
    process.off('exit', logger.flush);
  }
  return 0;
}

async function serveUntilStopped(
  store: Store,
  config: GatewayConfig,
  io: CliIo,
  { port, host, json }: { port: number; host: string; json: boolean },
  logger: BatchingLogger,
): Promise<void> {
  let gateway: RunningGateway | undefined;
  try {
    gateway = await listen(store, config, io, port, host, logger);
    // Only once listening: a key issued before a failed bind would never be shown to anyone.
    const issued = await bootstrap(store);
    const base = displayUrl(gateway.url);
    // Lines logged while starting (prices loaded, …) come before the banner, as they happened.
    logger.flush();
    if (json) {
      // One line, like the log lines that follow it, so stdout stays a stream of JSON lines.
      io.stdout.write(`${JSON.stringify({
        level: 'info',
        event: 'listening',
        url: base,
        firstRun: issued !== undefined,
        ...(issued && { project: issued.record.project, keyId: issued.record.id, key: issued.key }),
      })}\n`);
    } else {
      io.stdout.write(issued ? firstRunBanner(base, issued) : laterRunBanner(base));
    }
  } catch (error) {
    try {
      await gateway?.close();
    } finally {
      await store.close();
    }
    throw error;
  }

  const reason = await stopped(io.stop);
  if (!json) io.stderr.write(`\nShutting down (${reason})…\n`);
  try {
    await gateway.close();
  } finally {
    await store.close();
  }
}

function parsePort(value: string, source: string, command?: string): number {
  const port = /^\d+$/.test(value) ? Number(value) : NaN;
  if (Number.isInteger(port) && port >= 0 && port <= 65535) return port;
  const message = `${source} must be a port number from 0 to 65535, not "${value}"`;
  throw command === undefined ? new CliFailure(message) : new UsageError(message, command);
}

/** One line, not one per provider: most teams enable a few providers and leave the rest unset. */
function warnMissingCredentials(config: GatewayConfig, io: CliIo): void {
  const envSources = [...config.accounts.values()].flatMap((settings) =>
    settings.credential?.kind === 'env' ? [{ id: settings.name, name: settings.credential.name }] : [],
  );
  const missing = envSources.filter(({ name }) => !io.env[name]);
  if (missing.length === 0) return;
  const list = missing.map(({ id, name }) => `${id} (${name})`).join(', ');
  if (missing.length === envSources.length) {
    io.stderr.write(`warning: no provider credential is set, so every request will be refused until one is: ${list}. The gateway reads them per request.\n`);
  } else {
    io.stderr.write(`note: no credential for ${list}; requests to those providers are refused until it is set.\n`);
  }
}

async function listen(store: Store, config: GatewayConfig, io: CliIo, port: number, host: string, logger: Logger): Promise<RunningGateway> {
  try {
    return await startLocalGateway({ store, config, env: io.env, port, host, logger });
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EADDRINUSE') throw new CliFailure(`port ${port} on ${host} is already in use; choose another with --port or PORT`);
    if (code === 'EADDRNOTAVAIL') throw new CliFailure(`cannot bind to ${host}: no such local address`);
    if (code === 'EACCES') throw new CliFailure(`not allowed to listen on ${host}:${port}`);
    throw error;
  }
}

/** A store with no projects has never been used: give it a project and a key to start with. */
async function bootstrap(store: Store): Promise<IssuedKey | undefined> {
  const projects = await store.listProjects();
  if (projects.length > 0) return undefined;
  return issueKey(store, { project: DEFAULT_PROJECT, name: 'first-run' });
}

/** A wildcard bind address is not somewhere a client can connect to; loopback is. */
function displayUrl(url: string): string {
  return url.replace('://0.0.0.0:', '://127.0.0.1:').replace('://[::]:', '://[::1]:');
}

function firstRunBanner(base: string, issued: IssuedKey): string {
  const { key } = issued;
  return `tollgate is listening on ${base}

First run: created project "${issued.record.project}" and a key for it. The key is shown once,
now, and cannot be shown again (only its hash is stored):

  ${key}

Try it with curl:

  curl ${base}/proxy/openai/chat/completions \\
    -H "Authorization: Bearer ${key}" \\
    -H "Content-Type: application/json" \\
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello"}]}'

OpenAI SDK (JavaScript):

  import OpenAI from 'openai';
  const client = new OpenAI({ apiKey: '${key}', baseURL: '${base}/proxy/openai' });

pydantic-ai (then use models such as 'gateway/openai:gpt-4o-mini'):

  export PYDANTIC_AI_GATEWAY_API_KEY=${key}
  export PYDANTIC_AI_GATEWAY_BASE_URL=${base}/proxy

More keys: npx tollgate keys create --project <name>
Spend:     npx tollgate spend
`;
}

function laterRunBanner(base: string): string {
  return `tollgate is listening on ${base}

  OpenAI base URL:  ${base}/proxy/openai
  Create a key:     npx tollgate keys create --project <name>
  See spend:        npx tollgate spend
`;
}

/** Resolves with what stopped the server; a second Ctrl-C falls through to Node's default exit. */
function stopped(signal: AbortSignal | undefined): Promise<string> {
  if (signal) {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve('stopped');
      signal.addEventListener('abort', () => resolve('stopped'), { once: true });
    });
  }
  return new Promise((resolve) => {
    const onSignal = (name: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(name);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
