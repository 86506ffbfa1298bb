import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalGateway, type RunningGateway } from '../../lambda/app/local-gateway';
import { parseConfig } from '../../lambda/config/config';
import { silentLogger, type Logger } from '../../lambda/core/log';
import { issueKey, type IssuedKey } from '../../lambda/keys/issue-key';
import type { Store } from '../../lambda/store/port';
import { openSqliteStore } from '../../lambda/store/sqlite';
import { GATEWAY_AWS_CREDENTIALS, REGION } from './bedrock-harness';
import { ANTHROPIC_UPSTREAM_KEY, startFakeAnthropic, type FakeAnthropic } from './fake-anthropic';
import { startFakeBedrock, type FakeBedrock } from './fake-bedrock';
import { LOCATION, PROJECT, startFakeGoogle, type FakeGoogle } from './fake-google';
import { GROQ_UPSTREAM_KEY, startFakeGroq, type FakeGroq } from './fake-groq';
import { startFakeOpenAI, UPSTREAM_KEY, type FakeOpenAI } from './fake-openai';
import { serviceAccount } from './vertex-harness';

/** Every fake provider, one gateway in front of them all, and a tracing section of the test's choosing. */
export interface TracedGateway {
  readonly gateway: RunningGateway;
  readonly store: Store;
  readonly openai: FakeOpenAI;
  readonly anthropic: FakeAnthropic;
  readonly groq: FakeGroq;
  readonly google: FakeGoogle;
  readonly bedrock: FakeBedrock;
  /** Every provider credential and the service account's private key, for the secret scan. */
  readonly secrets: Readonly<Record<string, string>>;
  issue(project?: string, user?: string): Promise<IssuedKey>;
  /** The key's lifetime spend, once its one request has settled. */
  lifetimeNanos(keyId: string): Promise<number>;
  close(): Promise<void>;
}

export interface TracedGatewayOptions {
  /** The config's `tracing` section. */
  readonly tracing: unknown;
  /** Added to the gateway's environment (header values named by variable). */
  readonly env?: Readonly<Record<string, string>>;
  readonly logger?: Logger;
  /** The store the gateway runs on (closed with it). @default an in-memory SQLite store */
  readonly store?: Store;
}

export async function startTracedGateway(options: TracedGatewayOptions): Promise<TracedGateway> {
  const account = serviceAccount();
  const [openai, anthropic, groq, google, bedrock] = await Promise.all([
    startFakeOpenAI(),
    startFakeAnthropic(),
    startFakeGroq(),
    startFakeGoogle(account),
    startFakeBedrock({ kind: 'sigv4', credentials: GATEWAY_AWS_CREDENTIALS, region: REGION }),
  ]);
  const store = options.store ?? openSqliteStore({ dataDir: ':memory:' });
  const config = parseConfig(
    {
      providers: {
        openai: { baseUrl: openai.baseUrl },
        anthropic: { baseUrl: anthropic.baseUrl },
        groq: { baseUrl: groq.baseUrl },
        'google-vertex': { baseUrl: google.baseUrl, options: { project: PROJECT, location: LOCATION, tokenUrl: google.tokenUrl } },
        bedrock: { baseUrl: bedrock.baseUrl, options: { region: REGION } },
      },
      tracing: options.tracing,
    },
    'test',
  );
  const env = {
    OPENAI_API_KEY: UPSTREAM_KEY,
    ANTHROPIC_API_KEY: ANTHROPIC_UPSTREAM_KEY,
    GROQ_API_KEY: GROQ_UPSTREAM_KEY,
    GOOGLE_APPLICATION_CREDENTIALS_JSON: account.json,
    AWS_ACCESS_KEY_ID: GATEWAY_AWS_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: GATEWAY_AWS_CREDENTIALS.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    TOLLGATE_DATA_DIR: join(tmpdir(), 'tollgate-harness-no-data'),
    ...options.env,
  };
  const gateway = await startLocalGateway({ store, config, env, port: 0, logger: options.logger ?? silentLogger });
  const privateKey = (JSON.parse(account.json) as { private_key: string }).private_key;
  return {
    gateway,
    store,
    openai,
    anthropic,
    groq,
    google,
    bedrock,
    secrets: {
      openaiKey: UPSTREAM_KEY,
      anthropicKey: ANTHROPIC_UPSTREAM_KEY,
      groqKey: GROQ_UPSTREAM_KEY,
      awsSecretKey: GATEWAY_AWS_CREDENTIALS.secretAccessKey,
      // The PEM body, without its armour lines: the part that is secret.
      serviceAccountKey: privateKey.split('\n').filter((line) => line && !line.startsWith('-----')).join(''),
      serviceAccountKeyLine: privateKey.split('\n')[1] ?? '',
    },
    issue: (project = 'acme', user = 'ada') => issueKey(store, { project, user }),
    async lifetimeNanos(keyId) {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const counter = (await store.getSpend({ kind: 'key', id: keyId })).find((c) => c.period === 'lifetime');
        if (counter && counter.requests > 0) return counter.nanos;
        if (Date.now() > deadline) throw new Error(`key ${keyId} never settled`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async close() {
      await gateway.close();
      await Promise.all([openai.close(), anthropic.close(), groq.close(), google.close(), bedrock.close()]);
      await store.close();
    },
  };
}
