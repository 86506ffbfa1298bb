import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type GatewayConfig } from '../../lambda/config/config';
import { startLocalGateway, type RunningGateway } from '../../lambda/app/local-gateway';
import { silentLogger, type Logger } from '../../lambda/core/log';
import { issueKey, type IssueKeyRequest, type IssuedKey } from '../../lambda/keys/issue-key';
import { openSqliteStore } from '../../lambda/store/sqlite';
import type { SpendCounter, Store } from '../../lambda/store/port';
import { startFakeOpenAI, UPSTREAM_KEY, type FakeOpenAI } from './fake-openai';

export interface Harness {
  readonly gateway: RunningGateway;
  readonly upstream: FakeOpenAI;
  readonly store: Store;
  issue(request?: Partial<IssueKeyRequest>): Promise<IssuedKey>;
  /** Spend is settled just after the last byte reaches the client, so wait for it to land. */
  waitForSpend(predicate: (counters: SpendCounter[]) => boolean): Promise<SpendCounter[]>;
  close(): Promise<void>;
}

/** A gateway on loopback, on an in-memory SQLite store, pointed at a fake OpenAI. */
export interface HarnessOptions {
  /** The gateway config, given the fake OpenAI's base URL. */
  readonly config?: (openaiBaseUrl: string) => unknown;
  readonly store?: Store;
  /** Extra environment for the gateway (other providers' credentials). */
  readonly env?: Readonly<Record<string, string>>;
  readonly clock?: () => Date;
  readonly logger?: Logger;
  /** Draws routing groups' weighted order. */
  readonly random?: () => number;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const upstream = await startFakeOpenAI();
  const store = options.store ?? openSqliteStore({ dataDir: ':memory:' });
  const config: GatewayConfig = parseConfig(options.config?.(upstream.baseUrl) ?? { providers: { openai: { baseUrl: upstream.baseUrl } } }, 'test');
  // A data directory that never exists: a price copy someone refreshed into the repo's own
  // .tollgate/ must not change what the tests price with.
  const env = { OPENAI_API_KEY: UPSTREAM_KEY, TOLLGATE_DATA_DIR: join(tmpdir(), 'tollgate-harness-no-data'), ...options.env };
  const gateway = await startLocalGateway({
    store,
    config,
    env,
    port: 0,
    logger: options.logger ?? silentLogger,
    ...(options.clock && { clock: options.clock }),
    ...(options.random && { random: options.random }),
  });
  return {
    gateway,
    upstream,
    store,
    issue: (request) => issueKey(store, { project: 'acme', user: 'ada', ...request }),
    async waitForSpend(predicate) {
      // Generous: a loaded 2-core machine settles 200 DynamoDB-backed requests in 4–6 s.
      const deadline = Date.now() + 15_000;
      for (;;) {
        const counters = await store.getSpend();
        if (predicate(counters)) return counters;
        if (Date.now() > deadline) throw new Error(`spend never matched; have ${JSON.stringify(counters)}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async close() {
      await gateway.close();
      await upstream.close();
      await store.close();
    },
  };
}

export interface ProviderGateway<Upstream> {
  readonly harness: Harness;
  readonly upstream: Upstream;
  close(): Promise<void>;
}

/**
 * A gateway on an in-memory store whose `provider` is the given fake upstream, with the
 * provider's credential in the gateway's environment.
 */
export async function startProviderGateway<Upstream extends { readonly baseUrl: string; close(): Promise<void> }>(
  provider: string,
  upstream: Upstream,
  env: Readonly<Record<string, string>>,
): Promise<ProviderGateway<Upstream>> {
  const harness = await startHarness({
    config: (openaiBaseUrl) => ({ providers: { openai: { baseUrl: openaiBaseUrl }, [provider]: { baseUrl: upstream.baseUrl } } }),
    env,
  });
  return {
    harness,
    upstream,
    async close() {
      await harness.close();
      await upstream.close();
    },
  };
}
