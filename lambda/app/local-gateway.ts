import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Dispatcher } from 'undici';
import { loadConfig, type GatewayConfig } from '../config/config';
import { envCredentials } from '../config/credentials';
import { createGateway } from '../core/gateway';
import { jsonLogger, type Logger } from '../core/log';
import { storeFailuresAsUnavailable } from '../core/store-unavailable';
import { startReconciler } from '../limits/reconciler';
import { createUpstreamAgent } from '../core/upstream';
import { headersTimeoutWithin, withUpstreamDeadline } from '../core/upstream-deadline';
import { tracingFromEnv } from '../observability/otel/settings';
import { createTracing } from '../observability/otel/tracing';
import { Pricer } from '../pricing/pricer';
import { loadLocalPrices } from '../prices/local';
import { InFlight } from '../server/in-flight';
import { createNodeServer } from '../server/node-http';
import type { Store } from '../store/port';

export interface LocalGatewayOptions {
  readonly store: Store;
  readonly config?: GatewayConfig;
  readonly env?: NodeJS.ProcessEnv;
  /** @default 8787, or `PORT`. 0 picks a free port. */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  readonly logger?: Logger;
  readonly clock?: () => Date;
  /** Draws routing groups' weighted order. @default Math.random */
  readonly random?: () => number;
  /** How often reservations nobody settled are reconciled. @default 30 s */
  readonly reconcileIntervalMs?: number;
  /** On close, how long requests in flight may take to finish before they are cut. @default 10 s */
  readonly shutdownGraceMs?: number;
}

/** A flood of refused connections is logged at most this often. */
const REFUSED_LOG_INTERVAL_MS = 60_000;

/** After the grace period, how long the cut requests get to settle (their upstreams read to the end). */
const SETTLE_AFTER_CUT_MS = 5_000;

/** On close, how long queued spans get to reach their receivers. */
const TRACES_ON_CLOSE_MS = 5_000;

export interface RunningGateway {
  readonly server: Server;
  /** e.g. `http://127.0.0.1:8787` */
  readonly url: string;
  close(): Promise<void>;
}

/** The `npm start` gateway: the core behind node:http, on whatever store it is given. */
export async function startLocalGateway(options: LocalGatewayOptions): Promise<RunningGateway> {
  const env = options.env ?? process.env;
  const config = options.config ?? loadConfig(env);
  await loadLocalPrices(env, options.logger); // the copy `tollgate prices refresh` stored, if any
  const logger = options.logger ?? jsonLogger;
  // Header values named by environment variable are read now: a missing one stops startup, as
  // does one held in Secrets Manager (only the AWS deployment reads those).
  const tracing = createTracing(tracingFromEnv(config.tracing, env), { env, logger });
  const upstream: Dispatcher = withUpstreamDeadline(createUpstreamAgent(headersTimeoutWithin(config.upstream)), config.upstream.totalTimeoutMs, logger);
  const gateway = createGateway({
    config,
    store: storeFailuresAsUnavailable(options.store, logger),
    pricer: new Pricer(config.prices),
    upstream,
    credential: envCredentials(env),
    env,
    tracer: tracing.tracer,
    ...(options.logger && { logger: options.logger }),
    ...(options.clock && { clock: options.clock }),
    ...(options.random && { random: options.random }),
  });
  const inFlight = new InFlight();
  const server = createNodeServer(gateway, inFlight, config.server);
  logRefusedConnections(server, config.server.maxConnections, logger);
  const port = options.port ?? Number(env['PORT'] ?? 8787);
  const host = options.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await upstream.close();
    await tracing.close(0);
    throw error;
  }
  const stopReconciler = startReconciler(options.store, {
    intervalMs: options.reconcileIntervalMs ?? 30_000,
    clock: options.clock ?? (() => new Date()),
    logger,
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    /**
     * Stops taking requests and lets those in flight finish, streams included, so their spend is
     * settled before the store closes. Past the grace period they are cut; what has not settled
     * a few seconds later is left to the reconciler, which charges its estimate on a later start.
     */
    async close() {
      await stopReconciler();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await inFlight.idle(options.shutdownGraceMs ?? 10_000);
      server.closeAllConnections();
      await closed;
      const settled = await inFlight.idle(SETTLE_AFTER_CUT_MS);
      if (settled) await upstream.close();
      else await upstream.destroy();
      // The spans of the requests just settled, sent before the process goes.
      await tracing.close(TRACES_ON_CLOSE_MS);
    },
  };
}

/**
 * Connections past `server.maxConnections` are closed by node as they are accepted: counted, and
 * logged as `connections_refused` at most once a minute, so a flood shows without flooding the log.
 */
function logRefusedConnections(server: Server, maxConnections: number, logger: Logger): void {
  let refused = 0;
  let timer: NodeJS.Timeout | undefined;
  server.on('drop', () => {
    refused += 1;
    if (timer) return;
    logger.error('connections_refused', { refused, max_connections: maxConnections });
    refused = 0;
    timer = setTimeout(() => {
      timer = undefined;
      if (refused > 0) logger.error('connections_refused', { refused, max_connections: maxConnections });
      refused = 0;
    }, REFUSED_LOG_INTERVAL_MS);
    timer.unref();
  });
}
