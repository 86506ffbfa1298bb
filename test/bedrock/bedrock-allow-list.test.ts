import Anthropic from '@anthropic-ai/sdk';
import { startBedrockHarness, type BedrockHarness } from '../support/bedrock-harness';

/** A key allowed `claude-*` may use Claude on Bedrock through the Anthropic API: the model it names is `claude-sonnet-4-5`. */
describe('allow-lists on Claude on Bedrock (review)', () => {
  let harness: BedrockHarness;
  afterEach(async () => {
    await harness.close();
  });

  it('checks the model the caller named, not the Bedrock profile it maps to', async () => {
    harness = await startBedrockHarness();
    const { key } = await harness.issue({ access: { models: ['claude-*'] } });
    const client = new Anthropic({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/bedrock`, maxRetries: 0 });
    const response = await client.messages
      .create({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'Hi' }] })
      .withResponse()
      .then((r) => r.response.status, (error: unknown) => (error as { status?: number; message?: string }).status + ' ' + (error as Error).message);
    expect(response).toBe(200);
  });
});
