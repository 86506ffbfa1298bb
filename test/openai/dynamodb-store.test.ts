import OpenAI from 'openai';
import { openStoreFromEnv } from '../../lambda/app/open-store';
import { startDynalite, type LocalDynamo } from '../support/dynalite';
import { startHarness, type Harness } from '../support/harness';

describe('the local server on the DynamoDB store (TOLLGATE_STORE=dynamodb)', () => {
  let dynamo: LocalDynamo;
  let harness: Harness;

  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => {
    await harness?.close();
    await dynamo.close();
  });

  it('creates its tables, authenticates and records spend there', async () => {
    // GIVEN a store opened from the environment, as `npm start` does
    const store = await openStoreFromEnv({
      TOLLGATE_STORE: 'dynamodb',
      TOLLGATE_DYNAMODB_ENDPOINT: dynamo.endpoint,
      TOLLGATE_KEYS_TABLE: 'env-keys',
      TOLLGATE_SPEND_TABLE: 'env-spend',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'tollgate-test',
      AWS_SECRET_ACCESS_KEY: 'tollgate-test',
    });
    harness = await startHarness({ store });
    const { key, record } = await harness.issue();
    const client = new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/openai` });

    // WHEN a completion goes through
    const completion = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] });

    // THEN the key came from DynamoDB and the spend landed there
    expect(completion.choices[0]?.message.content).toBe('Hello! How can I assist you today?');
    const counters = await harness.waitForSpend((c) => c.length === 12);
    expect(counters.filter((c) => c.scope.kind === 'key' && c.scope.id === record.id)).toHaveLength(4);
    expect(counters.every((c) => c.nanos > 0 && c.requests === 1)).toBe(true);
  });

  it('refuses to start without table names', async () => {
    await expect(openStoreFromEnv({ TOLLGATE_STORE: 'dynamodb' })).rejects.toThrow('TOLLGATE_KEYS_TABLE must be set');
    await expect(openStoreFromEnv({ TOLLGATE_STORE: 'postgres' })).rejects.toThrow('"sqlite" or "dynamodb"');
  });
});
