import { calcPrice, type Usage } from '@pydantic/genai-prices';
import type { Logger } from '../../lambda/core/log';
import { usdToNanos } from '../../lambda/pricing/money';
import type { SpendCounter } from '../../lambda/store/port';
import { createServiceAccount, LOCATION, PROJECT, startFakeGoogle, type FakeGoogle, type ServiceAccountPair } from './fake-google';
import { startHarness, type Harness } from './harness';

export interface VertexHarness {
  readonly harness: Harness;
  readonly google: FakeGoogle;
  /** The gateway key, issued for project `acme`, user `ada`. */
  readonly key: string;
  readonly keyId: string;
  close(): Promise<void>;
}

export interface VertexHarnessOptions {
  /** The service account the gateway holds; by default the one the fake Google knows. */
  readonly credential?: string;
  readonly options?: Record<string, unknown>;
  readonly logger?: Logger;
}

/** A key pair is slow to generate: one per test file, shared by every gateway it starts. */
let shared: ServiceAccountPair | undefined;
export function serviceAccount(): ServiceAccountPair {
  shared ??= createServiceAccount();
  return shared;
}

/**
 * A gateway whose google-vertex provider points at a fake Google. Each gets its own token
 * endpoint URL, so the gateway's process-wide token cache never carries a token between tests.
 */
export async function startVertexHarness(given: VertexHarnessOptions = {}): Promise<VertexHarness> {
  const account = serviceAccount();
  const google = await startFakeGoogle(account);
  const harness = await startHarness({
    config: (openaiBaseUrl) => ({
      providers: {
        openai: { baseUrl: openaiBaseUrl },
        'google-vertex': {
          baseUrl: google.baseUrl,
          options: { project: PROJECT, location: LOCATION, tokenUrl: google.tokenUrl, ...given.options },
        },
      },
    }),
    env: { GOOGLE_APPLICATION_CREDENTIALS_JSON: given.credential ?? account.json },
    ...(given.logger && { logger: given.logger }),
  });
  const issued = await harness.issue();
  return {
    harness,
    google,
    key: issued.key,
    keyId: issued.record.id,
    async close() {
      await harness.close();
      await google.close();
    },
  };
}

export function expectedNanos(usage: Usage, model: string): number {
  const price = calcPrice(usage, model, { providerId: 'google' });
  if (!price) throw new Error(`no price for ${model}`);
  return usdToNanos(price.total_price);
}

/** Every scope (key, project, user) × every period (day, week, month, lifetime) moved by exactly this. */
export function expectSpendEverywhere(counters: SpendCounter[], keyId: string, nanos: number, requests = 1): void {
  for (const scope of [`key:${keyId}`, 'project:acme', 'user:ada']) {
    const mine = counters.filter((c) => `${c.scope.kind}:${c.scope.id}` === scope);
    expect(mine.map((c) => c.period.split(':')[0]).sort()).toEqual(['day', 'lifetime', 'month', 'week']);
    for (const counter of mine) expect(counter).toMatchObject({ nanos, requests });
  }
}
