import { calcPrice } from '@pydantic/genai-prices';
import { openSqliteStore } from '../../lambda/store/sqlite';
import { openDynamoStore } from '../../lambda/store/dynamodb';
import type { Store } from '../../lambda/store/port';
import type { Logger } from '../../lambda/core/log';
import { startDynalite, type LocalDynamo } from '../support/dynalite';
import { startHarness, type Harness, type HarnessOptions } from '../support/harness';

/** A chat request big enough that the recorded usage (2006 prompt, 10 completion tokens) stays under its estimate. */
export const CHAT = {
  model: 'gpt-4o',
  max_tokens: 50,
  messages: [{ role: 'user' as const, content: 'x'.repeat(2100) }],
};
export const CHAT_BODY = JSON.stringify(CHAT);

/** What the gateway reserves for a gpt-4o request: its bytes as input tokens, its max_tokens as output. */
export function estimateFor(body: string, maxTokens = 50): number {
  return Math.ceil((calcPrice({ input_tokens: Buffer.byteLength(body), output_tokens: maxTokens }, 'gpt-4o', { providerId: 'openai' })?.total_price ?? NaN) * 1e9);
}

export const CHAT_ESTIMATE = estimateFor(CHAT_BODY);

/** What the recorded chat response costs. */
export const CHAT_ACTUAL = Math.round(
  (calcPrice({ input_tokens: 2006, cache_read_tokens: 1920, output_tokens: 10 }, 'gpt-4o-2024-08-06', { providerId: 'openai' })?.total_price ?? NaN) * 1e9,
);

export interface StoreUnderTest {
  readonly name: string;
  open(): Promise<Store>;
  close(): Promise<void>;
}

/** The two adapters, so every limits test runs on both: SQLite, and DynamoDB on dynalite. */
export function storesUnderTest(): StoreUnderTest[] {
  let dynamo: LocalDynamo | undefined;
  return [
    { name: 'sqlite', open: async () => openSqliteStore({ dataDir: ':memory:' }), close: async () => {} },
    {
      name: 'dynamodb',
      async open() {
        dynamo ??= await startDynalite();
        return openDynamoStore({ client: dynamo.client, ...(await dynamo.createTables()) });
      },
      async close() {
        await dynamo?.close();
        dynamo = undefined;
      },
    },
  ];
}

export interface LimitsHarnessOptions extends Omit<HarnessOptions, 'store' | 'config'> {
  /** Settings for the OpenAI provider beside its (fake) base URL. */
  readonly openai?: Record<string, unknown>;
  readonly limits?: Record<string, unknown>;
}

export async function limitsHarness(store: Store, options: LimitsHarnessOptions = {}): Promise<Harness> {
  return startHarness({
    ...options,
    store,
    // No key cache: each test changes keys and limits and expects the very next request to see it.
    config: (baseUrl) => ({ providers: { openai: { baseUrl, ...options.openai } }, limits: { keyCacheTtlMs: 0, ...options.limits } }),
  });
}

export async function post(harness: Harness, key: string, body: string = CHAT_BODY, signal?: AbortSignal): Promise<Response> {
  return fetch(`${harness.gateway.url}/proxy/openai/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body,
    ...(signal && { signal }),
  });
}

export { gate } from '../support/gate';

export function countingLogger(): Logger & { readonly events: string[] } {
  const events: string[] = [];
  return { events, info: (event) => events.push(event), error: (event) => events.push(event) };
}
