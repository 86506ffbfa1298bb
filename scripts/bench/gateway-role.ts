import diagnosticsChannel from 'node:diagnostics_channel';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boundHeapGrowth } from '../../lambda/app/heap-growth';
import { startLocalGateway, type RunningGateway } from '../../lambda/app/local-gateway';
import { parseConfig } from '../../lambda/config/config';
import { batchingLogger } from '../../lambda/core/log';
import { issueKey } from '../../lambda/keys/issue-key';
import { HOSTED_PROVIDER_IDS, PROVIDERS } from '../../lambda/providers';
import type { KeyRecord, Store } from '../../lambda/store/port';
import { openSqliteStore } from '../../lambda/store/sqlite';

export interface GatewayRoleOptions {
  /** e.g. http://127.0.0.1:40123 — every provider's base URL is pointed here, keeping its path. */
  readonly upstreamOrigin: string;
  /** Spend limits on. Not implemented in the gateway yet: see {@link enableSpendLimits}. */
  readonly limits: boolean;
}

export interface GatewayInfo {
  readonly url: string;
  readonly key: string;
  readonly providers: readonly string[];
  readonly limits: 'on' | 'off';
}

/** Store calls made while handling one request, in order of the request's life. */
export interface RoundTrips {
  /** Before the gateway dispatched the request upstream (undici:request:create). */
  readonly beforeUpstream: number;
  /** Before the gateway wrote its response head, i.e. before the client's first byte. */
  readonly beforeFirstByte: number;
  /** Over the whole request, settlement included. */
  readonly total: number;
  readonly methodsBeforeUpstream: Record<string, number>;
  readonly methodsTotal: Record<string, number>;
}

/** Counts every call on the Store port; the gateway gets the wrapper, so nothing inside it changes. */
class StoreCounter {
  total = 0;
  log: string[] = [];
  logging = false;

  wrap(inner: Store): Store {
    const wrapped: Record<string, unknown> = {};
    for (const name of methodNames(inner)) {
      const method = (inner as unknown as Record<string, (...args: unknown[]) => unknown>)[name] as (...args: unknown[]) => unknown;
      wrapped[name] = (...args: unknown[]) => {
        this.total++;
        if (this.logging) this.log.push(name);
        return method.apply(inner, args);
      };
    }
    return wrapped as unknown as Store;
  }
}

function methodNames(object: object): string[] {
  const names = new Set<string>();
  for (let o: object | null = object; o && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name !== 'constructor' && typeof (object as Record<string, unknown>)[name] === 'function') names.add(name);
    }
  }
  return [...names];
}

/** $1M in nano-dollars: a cap that is checked on every request but never reached. */
const GENEROUS_CAP = 1_000_000 * 1_000_000_000;

/**
 * Strict spend caps on, as a careful team would set them: a daily and a monthly cap on the key, a
 * monthly cap on its user and on its project, the project in strict mode. They are far above
 * anything the bench spends, so every request pays the full reservation path and none is refused.
 * Returns false when the store has no limits (a gateway from before spend caps).
 */
async function enableSpendLimits(store: Store, key: KeyRecord): Promise<boolean> {
  if (typeof store.updateKey !== 'function' || typeof store.updateProject !== 'function') return false;
  const monthly = { monthly: GENEROUS_CAP };
  await store.updateProject(key.project, { limits: monthly, mode: 'strict' });
  if (key.user !== undefined) {
    await store.createUser({ name: key.user, createdAt: key.createdAt });
    await store.updateUser(key.user, { limits: monthly });
  }
  return store.updateKey(key.id, { limits: { daily: GENEROUS_CAP, monthly: GENEROUS_CAP } });
}

export async function startGatewayRole(options: GatewayRoleOptions) {
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-bench-store-'));
  const inner = openSqliteStore({ dataDir });
  const counter = new StoreCounter();
  const store = counter.wrap(inner);
  const issued = await issueKey(inner, { project: 'bench', user: 'bench-user', name: 'bench' });
  if (options.limits && !(await enableSpendLimits(inner, issued.record))) {
    throw new Error('this gateway has no spend limits');
  }

  // Kinds with no host of their own (Azure, generic OpenAI-compatible) have no account to bench unconfigured.
  const providers = HOSTED_PROVIDER_IDS as readonly string[];
  const config = parseConfig(
    {
      providers: Object.fromEntries(
        HOSTED_PROVIDER_IDS.map((id) => [id, { baseUrl: `${options.upstreamOrigin}${new URL(PROVIDERS[id].defaults.baseUrl ?? '/', options.upstreamOrigin).pathname.replace(/\/+$/, '')}` }]),
      ),
      // One key carries every connection of the run (up to c=200): the per-key in-flight ceiling
      // (64 by default) would answer the rest 429 at once, which is policy, not the cost measured here.
      limits: { maxConcurrentPerKey: 1_000 },
    },
    'bench',
  );
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(HOSTED_PROVIDER_IDS.flatMap((id) => PROVIDERS[id].defaults.credentialEnv ?? []).map((name) => [name, 'sk-bench-upstream-credential'])),
    // Bedrock has no key of its own: the gateway signs each request (SigV4) with these, as it would with a role's.
    AWS_ACCESS_KEY_ID: 'AKIDBENCHEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'bench-secret-access-key',
    // Nothing from the developer's own .tollgate/ (stored prices, config) leaks into the run.
    TOLLGATE_DATA_DIR: dataDir,
  };
  // Logged as `tollgate serve` logs (a line per request, written once per event-loop turn), into
  // /dev/null: the cost of the lines and their system calls, without a reader to wake.
  const devNull = openSync('/dev/null', 'w');
  // As `tollgate serve` sets it for its process.
  boundHeapGrowth();
  const sink = { write: (text: string) => writeSync(devNull, text) };
  const gateway: RunningGateway = await startLocalGateway({ store, config, env, port: 0, logger: batchingLogger(sink, sink) });

  // Round-trip probe: hooks are installed only while probing, so they cost nothing under load.
  let records: RoundTrips[] = [];
  let current: { start: number; logStart: number; upstream?: number; upstreamLog?: number; firstByte?: number } | undefined;
  const onUpstream = () => {
    if (current && current.upstream === undefined) {
      current.upstream = counter.total - current.start;
      current.upstreamLog = counter.log.length;
    }
  };
  const onRequest = (_req: IncomingMessage, res: ServerResponse) => {
    const entry: NonNullable<typeof current> = { start: counter.total, logStart: counter.log.length };
    current = entry;
    const writeHead = res.writeHead;
    res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
      entry.firstByte ??= counter.total - entry.start;
      return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
    } as typeof res.writeHead;
    res.once('finish', () => {
      const upstreamLog = entry.upstreamLog ?? counter.log.length;
      records.push({
        beforeUpstream: entry.upstream ?? Number.NaN,
        beforeFirstByte: entry.firstByte ?? Number.NaN,
        total: counter.total - entry.start,
        methodsBeforeUpstream: tally(counter.log.slice(entry.logStart, upstreamLog)),
        methodsTotal: tally(counter.log.slice(entry.logStart)),
      });
    });
  };

  const info: GatewayInfo = { url: gateway.url, key: issued.key, providers, limits: options.limits ? 'on' : 'off' };
  return {
    info,
    commands: {
      'probe-start': async () => {
        records = [];
        counter.log = [];
        counter.logging = true;
        diagnosticsChannel.subscribe('undici:request:create', onUpstream);
        gateway.server.prependListener('request', onRequest);
        return null;
      },
      'probe-stop': async () => {
        counter.logging = false;
        diagnosticsChannel.unsubscribe('undici:request:create', onUpstream);
        gateway.server.off('request', onRequest);
        return records;
      },
      'store-calls': async () => counter.total,
    },
    async close() {
      await gateway.close();
      await inner.close();
      closeSync(devNull);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function tally(names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of names) out[name] = (out[name] ?? 0) + 1;
  return out;
}
