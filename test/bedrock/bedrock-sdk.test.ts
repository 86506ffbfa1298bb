import { PassThrough, type Readable } from 'node:stream';
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  CountTokensCommand,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
} from '@aws-sdk/client-bedrock-runtime';
import { HttpResponse } from '@smithy/protocol-http';
import { formatUsd } from '../../lambda/pricing/money';
import { bedrockFixture, converseStreamFrames, invokeStreamFrames } from '../support/bedrock-eventstream';
import { expectedNanos, GATEWAY_AWS_CREDENTIALS, startBedrockHarness, type BedrockHarness } from '../support/bedrock-harness';

const SONNET = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
const NOVA_PROFILE = 'us.amazon.nova-pro-v1:0';
const MESSAGES = [{ role: 'user' as const, content: [{ text: 'Hi' }] }];
const ANTHROPIC_BODY = JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 256, messages: [{ role: 'user', content: 'Hi' }] });

// Usage as the recordings report it, priced independently of the gateway's extractors.
const CONVERSE_NANOS = expectedNanos({ input_tokens: 12 + 1024 + 1024, cache_read_tokens: 1024, cache_write_tokens: 1024, output_tokens: 10 }, NOVA_PROFILE);
const CONVERSE_STREAM_NANOS = expectedNanos({ input_tokens: 21 + 2048 + 512, cache_read_tokens: 2048, cache_write_tokens: 512, output_tokens: 9 }, SONNET);
const INVOKE_NANOS = expectedNanos({ input_tokens: 15 + 300 + 1200, cache_read_tokens: 300, cache_write_tokens: 1200, output_tokens: 12 }, SONNET);
const INVOKE_STREAM_NANOS = expectedNanos({ input_tokens: 25 + 1500, cache_read_tokens: 1500, output_tokens: 14 }, SONNET);

describe('Bedrock through the gateway, with @aws-sdk/client-bedrock-runtime over HTTP/2', () => {
  let harness: BedrockHarness;
  let key: string;
  let keyId: string;
  let client: BedrockRuntimeClient;
  let received: Buffer[];
  let receivedHeaders: Record<string, string>;

  beforeEach(async () => {
    harness = await startBedrockHarness();
    const issued = await harness.issue();
    key = issued.key;
    keyId = issued.record.id;
    client = sdkClient(`${harness.gateway.url}/proxy/bedrock`, key);
    ({ bytes: received, headers: receivedHeaders } = captureResponses(client));
  });
  afterEach(async () => {
    client.destroy();
    await harness.close();
  });

  function expectUpstreamSawSignatureOnly(): void {
    expect(harness.upstream.requests.length).toBeGreaterThan(0);
    // The fake refuses anything it cannot verify; no refusal means every signature checked out.
    expect(harness.upstream.refusals).toEqual([]);
    for (const seen of harness.upstream.requests) {
      expect(seen.headers.authorization).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${GATEWAY_AWS_CREDENTIALS.accessKeyId}/`));
      expect(JSON.stringify(seen.headers)).not.toContain(key);
      expect(seen.body.toString('utf8')).not.toContain(key);
    }
  }

  it('converse: returns the upstream bytes, prices the inference profile from the URL, signs the upstream request', async () => {
    // WHEN
    const output = await client.send(new ConverseCommand({ modelId: NOVA_PROFILE, messages: MESSAGES }));

    // THEN
    expect(Buffer.concat(received).equals(bedrockFixture('converse.json'))).toBe(true);
    expect(output.output?.message?.content?.[0]?.text).toBe('Hello! How can I help you today?');
    expect(output.usage).toEqual({ inputTokens: 12, outputTokens: 10, totalTokens: 2070, cacheReadInputTokens: 1024, cacheWriteInputTokens: 1024 });
    expect(receivedHeaders['x-tollgate-cost-usd']).toBe(formatUsd(CONVERSE_NANOS));
    expectUpstreamSawSignatureOnly();
    // `:` percent-encoded, as Bedrock expects it and as it was signed.
    expect(harness.upstream.requests[0]?.url).toBe('/model/us.amazon.nova-pro-v1%3A0/converse');
    expect(JSON.parse(harness.upstream.requests[0]?.body.toString('utf8') ?? '')).toEqual({ messages: MESSAGES });
    expect(await harness.settledSpend(keyId)).toMatchObject({ nanos: CONVERSE_NANOS, requests: 1 });
  });

  it('converseStream: passes the event-stream bytes through and meters the metadata event', async () => {
    // WHEN
    const output = await client.send(new ConverseStreamCommand({ modelId: SONNET, messages: MESSAGES }));
    let text = '';
    let usage: unknown;
    for await (const event of output.stream ?? []) {
      text += event.contentBlockDelta?.delta?.text ?? '';
      usage = event.metadata?.usage ?? usage;
    }

    // THEN
    expect(text).toBe('Hello! How can I help — today? 👋');
    expect(usage).toEqual({ cacheReadInputTokens: 2048, cacheWriteInputTokens: 512, inputTokens: 21, outputTokens: 9, totalTokens: 2590 });
    expect(Buffer.concat(received).equals(Buffer.concat(converseStreamFrames()))).toBe(true);
    expectUpstreamSawSignatureOnly();
    expect(harness.upstream.requests[0]?.url).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream');
    expect(await harness.settledSpend(keyId)).toMatchObject({ nanos: CONVERSE_STREAM_NANOS, requests: 1 });
  });

  it('invokeModel with an Anthropic body: forwards the body byte for byte and meters the token-count headers', async () => {
    // WHEN
    const output = await client.send(
      new InvokeModelCommand({ modelId: SONNET, body: Buffer.from(ANTHROPIC_BODY), contentType: 'application/json', accept: 'application/json' }),
    );

    // THEN
    expect(Buffer.from(output.body).equals(bedrockFixture('invoke-anthropic.json'))).toBe(true);
    expect(harness.upstream.requests[0]?.body.toString('utf8')).toBe(ANTHROPIC_BODY);
    expect(harness.upstream.requests[0]?.url).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke');
    expectUpstreamSawSignatureOnly();
    expect(await harness.settledSpend(keyId)).toMatchObject({ nanos: INVOKE_NANOS, requests: 1 });
  });

  it('invokeModelWithResponseStream: passes the chunks through and meters the invocation metrics', async () => {
    // WHEN
    const output = await client.send(new InvokeModelWithResponseStreamCommand({ modelId: SONNET, body: Buffer.from(ANTHROPIC_BODY), contentType: 'application/json' }));
    let text = '';
    for await (const event of output.body ?? []) {
      const chunk = event.chunk?.bytes ? (JSON.parse(Buffer.from(event.chunk.bytes).toString('utf8')) as { delta?: { text?: string } }) : undefined;
      text += chunk?.delta?.text ?? '';
    }

    // THEN
    expect(text).toBe('Hello! How can I help — today? 👋');
    expect(Buffer.concat(received).equals(Buffer.concat(invokeStreamFrames()))).toBe(true);
    expect(harness.upstream.requests[0]?.url).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke-with-response-stream');
    expectUpstreamSawSignatureOnly();
    expect(await harness.settledSpend(keyId)).toMatchObject({ nanos: INVOKE_STREAM_NANOS, requests: 1 });
  });

  it('countTokens passes through unmetered', async () => {
    const output = await client.send(new CountTokensCommand({ modelId: SONNET, input: { converse: { messages: MESSAGES } } }));

    expect(output.inputTokens).toBe(42);
    expect(harness.upstream.requests[0]?.url).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/count-tokens');
    expectUpstreamSawSignatureOnly();
    expect(await harness.store.getSpend()).toEqual([]);
  });

  it('prices an inference-profile ARN as the model it routes to', async () => {
    const arn = `arn:aws:bedrock:us-east-1:123456789012:inference-profile/${NOVA_PROFILE}`;

    await client.send(new ConverseCommand({ modelId: arn, messages: MESSAGES }));

    // The SDK sends the ARN as one segment; so does the gateway, signed as sent.
    expect(harness.upstream.requests[0]?.url).toBe(`/model/${encodeURIComponent(arn)}/converse`);
    expectUpstreamSawSignatureOnly();
    expect(await harness.settledSpend(keyId)).toMatchObject({ nanos: CONVERSE_NANOS, requests: 1 });
  });

  it('reaches Bedrock on the `converse` route too', async () => {
    const viaAlias = sdkClient(`${harness.gateway.url}/proxy/converse`, key);

    await viaAlias.send(new ConverseCommand({ modelId: NOVA_PROFILE, messages: MESSAGES }));
    viaAlias.destroy();

    expectUpstreamSawSignatureOnly();
    expect(await harness.settledSpend(keyId)).toMatchObject({ nanos: CONVERSE_NANOS, requests: 1 });
  });

  it('shows a gateway error to the SDK as a Bedrock exception', async () => {
    const failure = await client.send(new ConverseCommand({ modelId: 'acme.unknown-model-v1:0', messages: MESSAGES })).catch((e: unknown) => e);

    expect(failure).toMatchObject({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
    expect(String((failure as Error).message)).toContain('Unable to calculate spend for model "acme.unknown-model-v1:0"');
    expect(harness.upstream.requests).toEqual([]);
  });
});

describe('the SDK given the gateway key in AWS_BEARER_TOKEN_BEDROCK', () => {
  const saved = process.env['AWS_BEARER_TOKEN_BEDROCK'];
  afterEach(() => {
    if (saved === undefined) delete process.env['AWS_BEARER_TOKEN_BEDROCK'];
    else process.env['AWS_BEARER_TOKEN_BEDROCK'] = saved;
  });

  it('authenticates with it and needs no AWS credentials', async () => {
    // GIVEN a client configured only with the endpoint and a region
    const harness = await startBedrockHarness();
    const { key, record } = await harness.issue();
    process.env['AWS_BEARER_TOKEN_BEDROCK'] = key;
    const client = new BedrockRuntimeClient({ endpoint: `${harness.gateway.url}/proxy/bedrock`, region: 'us-east-1' });

    // WHEN
    const output = await client.send(new ConverseCommand({ modelId: NOVA_PROFILE, messages: MESSAGES }));
    client.destroy();

    // THEN
    expect(output.stopReason).toBe('end_turn');
    expect(harness.upstream.refusals).toEqual([]);
    expect(await harness.settledSpend(record.id)).toMatchObject({ nanos: CONVERSE_NANOS, requests: 1 });
    await harness.close();
  });
});

/**
 * Default settings (HTTP/2 request handler, retries, …) except the endpoint, the region the SDK
 * insists on, and the gateway key as a bearer token. Given `token` alone, this SDK version still
 * prefers SigV4 and would look for AWS credentials, so the bearer scheme is asked for by name.
 */
function sdkClient(endpoint: string, key: string): BedrockRuntimeClient {
  return new BedrockRuntimeClient({ endpoint, region: 'us-east-1', token: { token: key }, authSchemePreference: ['httpBearerAuth'] });
}

/** Records the raw responses the SDK receives, beneath its deserializer, without changing what it reads. */
function captureResponses(client: BedrockRuntimeClient): { bytes: Buffer[]; headers: Record<string, string> } {
  const received: Buffer[] = [];
  const headers: Record<string, string> = {};
  client.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      if (HttpResponse.isInstance(result.response)) Object.assign(headers, result.response.headers);
      if (HttpResponse.isInstance(result.response) && result.response.body) {
        const source = result.response.body as Readable;
        const tee = new PassThrough();
        source.on('data', (chunk: Buffer) => received.push(chunk));
        source.pipe(tee);
        result.response.body = tee;
      }
      return result;
    },
    { step: 'deserialize', priority: 'low', name: 'captureResponses' },
  );
  return { bytes: received, headers };
}
