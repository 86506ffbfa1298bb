import Anthropic, { APIError } from '@anthropic-ai/sdk';
import { formatUsd } from '../../lambda/pricing/money';
import { anthropicStreamEvents, bedrockFixture, invokeStreamFrames } from '../support/bedrock-eventstream';
import { expectedNanos, GATEWAY_AWS_CREDENTIALS, REGION, startBedrockHarness, type BedrockHarness } from '../support/bedrock-harness';

const MESSAGES = [{ role: 'user' as const, content: 'Hi' }];
/** `claude-sonnet-4-5` in us-east-1: the table's foundation model behind the US profile. */
const US_SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const RECORDED = JSON.parse(bedrockFixture('invoke-anthropic.json').toString('utf8')) as Anthropic.Message;
const RECORDED_STREAM_TEXT = anthropicStreamEvents()
  .map((event) => ((event['delta'] as { text?: string } | undefined)?.text ?? ''))
  .join('');

// The recordings' usage, priced independently of the gateway's extractors.
const INVOKE_USAGE = { input_tokens: 15 + 300 + 1200, cache_read_tokens: 300, cache_write_tokens: 1200, output_tokens: 12 };
const STREAM_USAGE = { input_tokens: 25 + 1500, cache_read_tokens: 1500, output_tokens: 14 };

describe('Claude on Bedrock through the Anthropic SDK (POST /v1/messages on a Bedrock route)', () => {
  let harness: BedrockHarness;
  let key: string;
  let keyId: string;
  let client: Anthropic;

  beforeEach(async () => {
    harness = await startBedrockHarness();
    ({ key, record: { id: keyId } } = await harness.issue());
    client = new Anthropic({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/bedrock`, maxRetries: 0 });
  });
  afterEach(async () => {
    await harness.close();
  });

  function expectSignedUpstreamWithoutKey(): void {
    expect(harness.upstream.requests.length).toBeGreaterThan(0);
    // The fake refuses any signature it cannot recompute: no refusal, every one checked out.
    expect(harness.upstream.refusals).toEqual([]);
    for (const seen of harness.upstream.requests) {
      expect(seen.headers.authorization).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${GATEWAY_AWS_CREDENTIALS.accessKeyId}/\\d{8}/${REGION}/bedrock/`));
      expect(JSON.stringify(seen.headers)).not.toContain(key);
      expect(seen.url).not.toContain(key);
      expect(seen.body.toString('utf8')).not.toContain(key);
    }
  }

  function upstreamBody(index = 0): unknown {
    return JSON.parse(harness.upstream.requests[index]?.body.toString('utf8') ?? 'null');
  }

  function settledFields(): Record<string, unknown> | undefined {
    return harness.logs.find((line) => line.event === 'request_settled')?.fields;
  }

  it('non-streaming: invokes the mapped profile with Bedrock’s body, returns Anthropic’s JSON unchanged, prices the Bedrock id', async () => {
    // WHEN
    const { data, response } = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 256, messages: MESSAGES }).withResponse();

    // THEN the client has the recorded answer
    expect(data).toEqual(RECORDED);
    expect(response.headers.get('x-tollgate-provider')).toBe('bedrock');
    // AND the upstream saw Bedrock's path and body: no model, no stream, the Bedrock version
    expect(harness.upstream.requests[0]?.url).toBe(`/model/${encodeURIComponent(US_SONNET)}/invoke`);
    expect(upstreamBody()).toEqual({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 256, messages: MESSAGES });
    expectSignedUpstreamWithoutKey();
    // AND the spend is genai-prices' aws price of the id sent, cache tokens included — not the
    // price of the model the response names (which would be a different amount)
    const nanos = expectedNanos(INVOKE_USAGE, US_SONNET);
    expect(nanos).not.toBe(expectedNanos(INVOKE_USAGE, RECORDED.model));
    expect(response.headers.get('x-tollgate-cost-usd')).toBe(formatUsd(nanos));
    expect(await harness.settledSpend(keyId)).toMatchObject({ nanos, requests: 1 });
  });

  it('streaming: the SDK reassembles the recorded message from the unwrapped SSE, and the spend is the stream’s usage', async () => {
    // WHEN
    const stream = client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 256, messages: MESSAGES });
    const final = await stream.finalMessage();

    // THEN
    expect(final.content).toEqual([{ type: 'text', text: RECORDED_STREAM_TEXT }]);
    expect(final.usage).toMatchObject({ input_tokens: 25, cache_read_input_tokens: 1500, output_tokens: 14 });
    expect(harness.upstream.requests[0]?.url).toBe(`/model/${encodeURIComponent(US_SONNET)}/invoke-with-response-stream`);
    expect(upstreamBody()).toEqual({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 256, messages: MESSAGES });
    expectSignedUpstreamWithoutKey();
    expect(await harness.settledSpend(keyId)).toMatchObject({ nanos: expectedNanos(STREAM_USAGE, US_SONNET), requests: 1 });
    expect(settledFields()?.['outcome']).toBe('complete');
  });

  it('sends each chunk’s Anthropic event as one SSE event, its JSON as the model wrote it', async () => {
    const response = await fetch(`${harness.gateway.url}/proxy/bedrock/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 256, stream: true, messages: MESSAGES }),
    });

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('content-length')).toBeNull();
    const expected = anthropicStreamEvents()
      .map((event) => `event: ${String(event['type'])}\ndata: ${JSON.stringify(event)}\n\n`)
      .join('');
    expect(await response.text()).toBe(expected);
  });

  it('turns an exception frame mid-stream into an Anthropic error event the SDK throws, priced at the usage seen', async () => {
    // GIVEN a model that fails after message_start, content_block_start and two deltas
    harness.upstream.behaviour.exceptionAfterFrames = 4;
    const stream = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 256, messages: MESSAGES, stream: true });
    const seen: string[] = [];

    // WHEN
    const failure = await (async () => {
      for await (const event of stream) seen.push(event.type);
    })().catch((error: unknown) => error);

    // THEN the events before it arrived, then the error
    expect(seen).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta']);
    expect(failure).toBeInstanceOf(APIError);
    expect((failure as APIError).error).toEqual({
      type: 'error',
      error: { type: 'api_error', message: 'modelStreamErrorException: The model stopped unexpectedly.' },
    });
    expect(await harness.settledSpend(keyId)).toMatchObject({ nanos: expectedNanos({ input_tokens: 25 + 1500, cache_read_tokens: 1500, output_tokens: 1 }, US_SONNET) });
    expect(settledFields()?.['outcome']).toBe('upstream-failed');
  });

  it('sends no query upstream (Claude Code’s and older SDKs’ `?beta=true`): Bedrock’s invoke takes none', async () => {
    const message = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 256, messages: MESSAGES }, { query: { beta: 'true' } });

    expect(message.content).toEqual(RECORDED.content);
    expect(harness.upstream.requests[0]?.url).toBe(`/model/${encodeURIComponent(US_SONNET)}/invoke`);
    expectSignedUpstreamWithoutKey();
  });

  it('carries the `anthropic-beta` header into the body as the `anthropic_beta` array Bedrock reads', async () => {
    // WHEN the SDK's beta resource asks for two betas (one header, comma-separated)
    await client.beta.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 256,
      messages: MESSAGES,
      betas: ['context-1m-2025-08-07', 'interleaved-thinking-2025-05-14'],
    });

    // THEN
    expect(harness.upstream.requests[0]?.headers['anthropic-beta']).toBe('context-1m-2025-08-07,interleaved-thinking-2025-05-14');
    expect(upstreamBody()).toEqual({
      anthropic_version: 'bedrock-2023-05-31',
      anthropic_beta: ['context-1m-2025-08-07', 'interleaved-thinking-2025-05-14'],
      max_tokens: 256,
      messages: MESSAGES,
    });
    expectSignedUpstreamWithoutKey();
  });

  it('keeps a body’s own `anthropic_beta` over the header, and adds none without the header', async () => {
    const body = { model: 'claude-sonnet-4-5', max_tokens: 256, messages: MESSAGES, anthropic_beta: ['token-efficient-tools-2025-02-19'] };

    await client.messages.create(body as Anthropic.MessageCreateParamsNonStreaming, { headers: { 'anthropic-beta': 'context-1m-2025-08-07' } });
    await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 256, messages: MESSAGES });

    expect(upstreamBody(0)).toMatchObject({ anthropic_beta: ['token-efficient-tools-2025-02-19'] });
    expect(upstreamBody(1)).not.toHaveProperty('anthropic_beta');
  });

  it('count_tokens: Bedrock’s CountTokens at the bare foundation model, its count in Anthropic’s shape, free', async () => {
    // WHEN
    const counted = await client.messages.countTokens({ model: 'claude-sonnet-4-5', system: 'Be brief.', messages: MESSAGES });

    // THEN the SDK reads Anthropic's answer
    expect(counted).toEqual({ input_tokens: 42 });
    // AND Bedrock got InvokeModel's body, base64, at the model without its profile
    const seen = harness.upstream.requests[0];
    expect(seen?.url).toBe(`/model/${encodeURIComponent('anthropic.claude-sonnet-4-5-20250929-v1:0')}/count-tokens`);
    const sent = upstreamBody() as { input: { invokeModel: { body: string } } };
    expect(Object.keys(sent.input)).toEqual(['invokeModel']);
    expect(JSON.parse(Buffer.from(sent.input.invokeModel.body, 'base64').toString('utf8'))).toEqual({
      anthropic_version: 'bedrock-2023-05-31',
      max_tokens: 1,
      system: 'Be brief.',
      messages: MESSAGES,
    });
    expectSignedUpstreamWithoutKey();
    // AND nothing is charged
    expect(await harness.store.getSpend()).toEqual([]);
  });

  it('count_tokens: a profile id is counted at its foundation model, with the header’s betas but the SDK’s token-counting one', async () => {
    const counted = await client.beta.messages.countTokens({ model: US_SONNET, messages: MESSAGES, betas: ['context-1m-2025-08-07'] });

    expect(counted).toEqual({ input_tokens: 42 });
    expect(harness.upstream.refusals).toEqual([]);
    expect(harness.upstream.requests[0]?.url).toBe(`/model/${encodeURIComponent('anthropic.claude-sonnet-4-5-20250929-v1:0')}/count-tokens`);
    const sent = upstreamBody() as { input: { invokeModel: { body: string } } };
    expect(JSON.parse(Buffer.from(sent.input.invokeModel.body, 'base64').toString('utf8'))).toMatchObject({ anthropic_beta: ['context-1m-2025-08-07'] });
    expect(harness.upstream.requests[0]?.headers['anthropic-beta']).toBe('context-1m-2025-08-07,token-counting-2024-11-01');
  });

  it('count_tokens: Bedrock’s refusal reaches the SDK as its typed error', async () => {
    harness.upstream.behaviour.error = { status: 429, type: 'ThrottlingException', message: 'Too many requests.' };

    const failure = await client.messages.countTokens({ model: 'claude-sonnet-4-5', messages: MESSAGES }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(Anthropic.RateLimitError);
    expect((failure as APIError).error).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: 'ThrottlingException: Too many requests.' } });
  });

  it('keeps a caller’s own anthropic_version, and passes a Bedrock id through', async () => {
    const id = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
    const body = { model: id, max_tokens: 256, messages: MESSAGES, anthropic_version: 'bedrock-2099-01-01' } as Anthropic.MessageCreateParamsNonStreaming;

    await client.messages.create(body);

    expect(harness.upstream.requests[0]?.url).toBe(`/model/${encodeURIComponent(id)}/invoke`);
    expect(upstreamBody()).toEqual({ anthropic_version: 'bedrock-2099-01-01', max_tokens: 256, messages: MESSAGES });
    expect(await harness.settledSpend(keyId)).toMatchObject({ nanos: expectedNanos(INVOKE_USAGE, id) });
  });

  it('refuses a model name it cannot map, in Anthropic’s error shape, before anything is sent', async () => {
    const failure = await client.messages.create({ model: 'claude-unreleased-9', max_tokens: 256, messages: MESSAGES }).catch((error: unknown) => error);

    expect(failure).toMatchObject({
      status: 400,
      error: { type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('"claude-unreleased-9" has no Bedrock model id') } },
    });
    expect(harness.upstream.requests).toEqual([]);
    expect(await harness.store.getSpend()).toEqual([]);
  });

  it('serves the same on the `converse` route', async () => {
    const viaAlias = new Anthropic({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/converse`, maxRetries: 0 });

    const message = await viaAlias.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 256, messages: MESSAGES });

    expect(message).toEqual(RECORDED);
    expectSignedUpstreamWithoutKey();
    expect(await harness.settledSpend(keyId)).toMatchObject({ nanos: expectedNanos(INVOKE_USAGE, US_SONNET), requests: 1 });
  });
});

describe('Claude names on a Bedrock account with its own options', () => {
  const region = 'eu-west-1';
  let harness: BedrockHarness;
  let client: Anthropic;
  let keyId: string;

  afterEach(async () => {
    await harness.close();
  });

  async function start(options: Record<string, unknown>): Promise<void> {
    harness = await startBedrockHarness({
      expect: { kind: 'sigv4', credentials: GATEWAY_AWS_CREDENTIALS, region },
      provider: (baseUrl) => ({ baseUrl, options: { region, ...options } }),
    });
    const issued = await harness.issue();
    keyId = issued.record.id;
    client = new Anthropic({ apiKey: issued.key, baseURL: `${harness.gateway.url}/proxy/bedrock`, maxRetries: 0 });
  }

  it.each([
    ['the region’s geography', {}, 'claude-sonnet-4-5', 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0'],
    ['a global profile', { inferenceProfile: 'global' }, 'claude-sonnet-4-5-20250929', 'global.anthropic.claude-sonnet-4-5-20250929-v1:0'],
    ['no profile', { inferenceProfile: 'none' }, 'claude-3-5-sonnet-20240620', 'anthropic.claude-3-5-sonnet-20240620-v1:0'],
    ['a configured name', { models: { 'house-claude': 'apac.anthropic.claude-sonnet-4-5-20250929-v1:0' } }, 'house-claude', 'apac.anthropic.claude-sonnet-4-5-20250929-v1:0'],
  ])('maps by %s', async (_how, options, model, id) => {
    await start(options);

    await client.messages.create({ model, max_tokens: 64, messages: MESSAGES });

    expect(harness.upstream.refusals).toEqual([]);
    expect(harness.upstream.requests[0]?.url).toBe(`/model/${encodeURIComponent(id)}/invoke`);
    expect(await harness.settledSpend(keyId)).toMatchObject({ nanos: expectedNanos(INVOKE_USAGE, id) });
  });

  it('prices a global profile at its own price, not the regional one', async () => {
    await start({ inferenceProfile: 'global' });

    await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: MESSAGES });

    const global = expectedNanos(INVOKE_USAGE, 'global.anthropic.claude-sonnet-4-5-20250929-v1:0');
    expect(global).not.toBe(expectedNanos(INVOKE_USAGE, 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0'));
    expect(await harness.settledSpend(keyId)).toMatchObject({ nanos: global });
  });
});

describe('a Bedrock stream the gateway cannot unwrap within its metering limits', () => {
  let harness: BedrockHarness;
  afterEach(async () => {
    await harness.close();
  });

  it('ends with an Anthropic error event and charges the reservation, as metering does when it gives up', async () => {
    // GIVEN a buffering limit below the size of Bedrock's first event frame
    harness = await startBedrockHarness({ config: { metering: { maxBufferedBytes: 300, maxDecodedBytes: 1 << 20 } } });
    const { key, record } = await harness.issue();
    expect(invokeStreamFrames()[0]?.byteLength).toBeGreaterThan(300);
    const client = new Anthropic({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/bedrock`, maxRetries: 0 });

    // WHEN
    const stream = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: MESSAGES, stream: true });
    const failure = await (async () => {
      for await (const _event of stream);
    })().catch((error: unknown) => error);

    // THEN
    expect(failure).toBeInstanceOf(APIError);
    expect((failure as APIError).message).toContain('could not read the rest of Bedrock');
    const spend = await harness.settledSpend(record.id);
    const settled = harness.logs.find((line) => line.event === 'request_settled')?.fields;
    expect(settled?.['basis']).toBe('metering-gave-up');
    expect(spend.nanos).toBe(settled?.['estimate_nanos']);
    expect(harness.logs.find((line) => line.event === 'metering_gave_up')?.fields).toMatchObject({ error: 'BedrockStreamUnreadableError' });
  });
});
