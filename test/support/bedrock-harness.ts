import { calcPrice, type Usage } from '@pydantic/genai-prices';
import { startLocalGateway, type RunningGateway } from '../../lambda/app/local-gateway';
import { parseConfig } from '../../lambda/config/config';
import type { LogFields, Logger } from '../../lambda/core/log';
import { issueKey, type IssueKeyRequest, type IssuedKey } from '../../lambda/keys/issue-key';
import { usdToNanos } from '../../lambda/pricing/money';
import { openSqliteStore } from '../../lambda/store/sqlite';
import type { SpendCounter, Store } from '../../lambda/store/port';
import { startFakeBedrock, type AwsTestCredentials, type ExpectedAuth, type FakeBedrock } from './fake-bedrock';

/** The gateway's own AWS identity in tests: handed to it through its env, as the Lambda role's would be. */
export const GATEWAY_AWS_CREDENTIALS: AwsTestCredentials = {
  accessKeyId: 'AKIATOLLGATETEST0001',
  secretAccessKey: 'tollgate/test/secret+Key0000000000000000',
};

export const REGION = 'us-east-1';

export interface LogLine {
  readonly level: 'info' | 'error';
  readonly event: string;
  readonly fields: LogFields;
}

export interface BedrockHarness {
  readonly gateway: RunningGateway;
  readonly upstream: FakeBedrock;
  readonly store: Store;
  readonly logs: LogLine[];
  issue(request?: Partial<IssueKeyRequest>): Promise<IssuedKey>;
  /** Spend is settled just after the last byte reaches the client, so wait for it to land. */
  waitForSpend(predicate: (counters: SpendCounter[]) => boolean): Promise<SpendCounter[]>;
  /** The key scope's lifetime counter, once one request has settled. */
  settledSpend(keyId: string): Promise<SpendCounter>;
  close(): Promise<void>;
}

export interface BedrockHarnessOptions {
  /** What the fake Bedrock accepts. @default SigV4 by GATEWAY_AWS_CREDENTIALS in us-east-1 */
  readonly expect?: ExpectedAuth;
  /** `providers.bedrock` of the gateway config, given the fake's base URL. */
  readonly provider?: (baseUrl: string) => Record<string, unknown>;
  /** The gateway's whole environment. @default the AWS credentials above, and no instance metadata */
  readonly env?: Readonly<Record<string, string>>;
  /** The rest of the gateway config (`metering`, `routes`, other accounts…). */
  readonly config?: Readonly<Record<string, unknown>>;
}

/** A gateway on loopback, on an in-memory SQLite store, pointed at a fake Bedrock, with its log captured. */
export async function startBedrockHarness(options: BedrockHarnessOptions = {}): Promise<BedrockHarness> {
  const upstream = await startFakeBedrock(options.expect ?? { kind: 'sigv4', credentials: GATEWAY_AWS_CREDENTIALS, region: REGION });
  const store = openSqliteStore({ dataDir: ':memory:' });
  const provider = options.provider?.(upstream.baseUrl) ?? { baseUrl: upstream.baseUrl, options: { region: REGION } };
  const config = parseConfig({ ...options.config, providers: { bedrock: provider } }, 'test');
  const env = options.env ?? {
    AWS_ACCESS_KEY_ID: GATEWAY_AWS_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: GATEWAY_AWS_CREDENTIALS.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const logs: LogLine[] = [];
  const logger: Logger = {
    info: (event, fields = {}) => logs.push({ level: 'info', event, fields }),
    error: (event, fields = {}) => logs.push({ level: 'error', event, fields }),
  };
  const gateway = await startLocalGateway({ store, config, env, port: 0, logger });
  const waitForSpend = async (predicate: (counters: SpendCounter[]) => boolean) => {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const counters = await store.getSpend();
      if (predicate(counters)) return counters;
      if (Date.now() > deadline) throw new Error(`spend never matched; have ${JSON.stringify(counters)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  return {
    gateway,
    upstream,
    store,
    logs,
    issue: (request) => issueKey(store, { project: 'acme', user: 'ada', ...request }),
    waitForSpend,
    async settledSpend(keyId) {
      const isMine = (c: SpendCounter) => c.scope.kind === 'key' && c.scope.id === keyId && c.period === 'lifetime' && c.requests > 0;
      const counters = await waitForSpend((all) => all.some(isMine));
      // The settle log line comes right after the spend write it reports.
      await waitFor(() => logs.some((line) => line.event === 'request_settled'));
      return counters.find(isMine) as SpendCounter;
    },
    async close() {
      await gateway.close();
      await upstream.close();
      await store.close();
    },
  };
}

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** What genai-prices says this usage of this model costs, in the gateway's nano-dollars. */
export function expectedNanos(usage: Usage, model: string): number {
  const price = calcPrice(usage, model, { providerId: 'aws' });
  if (!price) throw new Error(`no price for ${model}`);
  return usdToNanos(price.total_price);
}
