import { AnthropicBedrock } from '@anthropic-ai/bedrock-sdk';
import { anthropicStreamEvents, bedrockFixture } from '../support/bedrock-eventstream';
import { expectedNanos, GATEWAY_AWS_CREDENTIALS, startBedrockHarness, type BedrockHarness } from '../support/bedrock-harness';

const SONNET = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
const MESSAGES = [{ role: 'user' as const, content: 'Hi' }];
const RECORDED = JSON.parse(bedrockFixture('invoke-anthropic.json').toString('utf8')) as unknown;
const RECORDED_STREAM_TEXT = anthropicStreamEvents()
  .map((event) => ((event['delta'] as { text?: string } | undefined)?.text ?? ''))
  .join('');

// Bedrock's own counts (headers, invocation metrics): the native path meters those.
const INVOKE_NANOS = expectedNanos({ input_tokens: 15 + 300 + 1200, cache_read_tokens: 300, cache_write_tokens: 1200, output_tokens: 12 }, SONNET);
const STREAM_NANOS = expectedNanos({ input_tokens: 25 + 1500, cache_read_tokens: 1500, output_tokens: 14 }, SONNET);

/**
 * `AnthropicBedrock` given the gateway as its base URL rewrites `/v1/messages` itself, into
 * Bedrock's native `/model/{id}/invoke[-with-response-stream]`, which the gateway forwards on its
 * Bedrock format as it does for the AWS SDK, and re-signs with its own AWS identity.
 */
describe('@anthropic-ai/bedrock-sdk pointed at the gateway', () => {
  let harness: BedrockHarness;
  let key: string;
  let keyId: string;

  beforeEach(async () => {
    harness = await startBedrockHarness();
    ({ key, record: { id: keyId } } = await harness.issue());
  });
  afterEach(async () => {
    await harness.close();
  });

  function expectSignedByGatewayOnly(): void {
    expect(harness.upstream.requests.length).toBeGreaterThan(0);
    expect(harness.upstream.refusals).toEqual([]);
    for (const seen of harness.upstream.requests) {
      expect(seen.headers.authorization).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${GATEWAY_AWS_CREDENTIALS.accessKeyId}/`));
      expect(JSON.stringify(seen.headers)).not.toContain(key);
      expect(seen.body.toString('utf8')).not.toContain(key);
    }
  }

  describe('with the gateway key as its Bedrock API key (`apiKey`, or AWS_BEARER_TOKEN_BEDROCK)', () => {
    let client: AnthropicBedrock;
    beforeEach(() => {
      client = new AnthropicBedrock({ apiKey: key, awsRegion: 'us-east-1', baseURL: `${harness.gateway.url}/proxy/bedrock`, maxRetries: 0 });
    });

    it('messages.create: invoke, answered as recorded, metered from Bedrock’s counts', async () => {
      const message = await client.messages.create({ model: SONNET, max_tokens: 256, messages: MESSAGES });

      expect(message).toEqual(RECORDED);
      expect(harness.upstream.requests[0]?.url).toBe(`/model/${encodeURIComponent(SONNET)}/invoke`);
      // The SDK's own rewrite, forwarded as it sent it: no model, no stream.
      const sent = JSON.parse(harness.upstream.requests[0]?.body.toString('utf8') ?? '') as Record<string, unknown>;
      expect(sent).toMatchObject({ max_tokens: 256, messages: MESSAGES });
      expect(sent).not.toHaveProperty('model');
      expectSignedByGatewayOnly();
      expect(await harness.settledSpend(keyId)).toMatchObject({ nanos: INVOKE_NANOS, requests: 1 });
    });

    it('messages.stream: invoke-with-response-stream, the event stream passed through for the SDK to unwrap', async () => {
      const final = await client.messages.stream({ model: SONNET, max_tokens: 256, messages: MESSAGES }).finalMessage();

      expect(final.content).toEqual([{ type: 'text', text: RECORDED_STREAM_TEXT }]);
      expect(harness.upstream.requests[0]?.url).toBe(`/model/${encodeURIComponent(SONNET)}/invoke-with-response-stream`);
      expectSignedByGatewayOnly();
      expect(await harness.settledSpend(keyId)).toMatchObject({ nanos: STREAM_NANOS, requests: 1 });
    });
  });

  it('signing with AWS credentials of its own, the gateway key in x-api-key: the gateway drops the signature and signs anew', async () => {
    const client = new AnthropicBedrock({
      apiKey: null,
      awsAccessKey: 'AKIACLIENTOWNKEY0001',
      awsSecretKey: 'client/own/secret',
      awsRegion: 'us-east-1',
      baseURL: `${harness.gateway.url}/proxy/bedrock`,
      defaultHeaders: { 'x-api-key': key },
      maxRetries: 0,
    });

    const message = await client.messages.create({ model: SONNET, max_tokens: 256, messages: MESSAGES });

    expect(message).toEqual(RECORDED);
    expectSignedByGatewayOnly();
    expect(JSON.stringify(harness.upstream.requests[0]?.headers)).not.toContain('AKIACLIENTOWNKEY0001');
    expect(await harness.settledSpend(keyId)).toMatchObject({ nanos: INVOKE_NANOS, requests: 1 });
  });
});
