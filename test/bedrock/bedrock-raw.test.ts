import { anthropicStreamEvents, converseStreamFrames, exceptionFrame, invokeStreamFrames } from '../support/bedrock-eventstream';
import { expectedNanos, startBedrockHarness, type BedrockHarness } from '../support/bedrock-harness';
import { COUNT_TOKENS_BODY } from '../support/fake-bedrock';

const SONNET = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
const CONVERSE_BODY = JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'Hi' }] }] });

describe('Bedrock over plain HTTP/1.1', () => {
  let harness: BedrockHarness;
  let key: string;
  let keyId: string;

  beforeEach(async () => {
    harness = await startBedrockHarness();
    const issued = await harness.issue();
    key = issued.key;
    keyId = issued.record.id;
  });
  afterEach(async () => {
    await harness.close();
  });

  function post(path: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${harness.gateway.url}/proxy/bedrock${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
      body,
    });
  }

  function settledOutcome(): unknown {
    return harness.logs.find((line) => line.event === 'request_settled')?.fields['outcome'];
  }

  it('hands the event stream over byte for byte, with its content type', async () => {
    const response = await post(`/model/${encodeURIComponent(SONNET)}/converse-stream`, CONVERSE_BODY);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/vnd.amazon.eventstream');
    expect(Buffer.from(await response.arrayBuffer()).equals(Buffer.concat(converseStreamFrames()))).toBe(true);
    expect(await harness.settledSpend(keyId)).toMatchObject({ requests: 1 });
    expect(settledOutcome()).toBe('complete');
  });

  it('records an exception frame mid-stream as a failed request, priced at the usage seen so far', async () => {
    // GIVEN a model that fails after message_start and two content deltas
    harness.upstream.behaviour.exceptionAfterFrames = 4;
    const [messageStart] = anthropicStreamEvents();
    const sent = [...invokeStreamFrames().slice(0, 4), exceptionFrame('modelStreamErrorException', 'The model stopped unexpectedly.')];

    // WHEN
    const response = await post(`/model/${encodeURIComponent(SONNET)}/invoke-with-response-stream`, '{"anthropic_version":"bedrock-2023-05-31","max_tokens":9,"messages":[]}');
    const body = Buffer.from(await response.arrayBuffer());

    // THEN the client sees the exception frame as Bedrock sent it, and the spend is what message_start reported
    expect(messageStart).toMatchObject({ type: 'message_start', message: { usage: { input_tokens: 25, cache_read_input_tokens: 1500, output_tokens: 1 } } });
    expect(body.equals(Buffer.concat(sent))).toBe(true);
    const nanos = expectedNanos({ input_tokens: 25 + 1500, cache_read_tokens: 1500, output_tokens: 1 }, SONNET);
    expect(await harness.settledSpend(keyId)).toMatchObject({ nanos, requests: 1 });
    expect(settledOutcome()).toBe('upstream-failed');
  });

  it('records a Converse stream cut by an exception before its metadata as failed, with no usage to price', async () => {
    harness.upstream.behaviour.exceptionAfterFrames = 2;

    const response = await post(`/model/${encodeURIComponent(SONNET)}/converse-stream`, CONVERSE_BODY);
    const body = Buffer.from(await response.arrayBuffer());

    expect(body.equals(Buffer.concat([...converseStreamFrames().slice(0, 2), exceptionFrame('modelStreamErrorException', 'The model stopped unexpectedly.')]))).toBe(true);
    // What an unpriceable request is charged is the spend policy's call; here it is on record, as failed.
    expect(await harness.settledSpend(keyId)).toMatchObject({ requests: 1 });
    expect(settledOutcome()).toBe('upstream-failed');
    expect(harness.logs.find((line) => line.event === 'request_settled')?.fields['priced']).toBe(false);
  });

  it('encodes a raw `:` in the model id the way Bedrock expects, and signs that', async () => {
    const response = await post(`/model/${SONNET}/count-tokens`, '{"input":{"converse":{"messages":[]}}}');

    expect(await response.text()).toBe(COUNT_TOKENS_BODY);
    expect(harness.upstream.refusals).toEqual([]);
    expect(harness.upstream.requests[0]?.url).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/count-tokens');
  });

  it('never forwards the caller’s own x-amz-* headers', async () => {
    const response = await post(`/model/${encodeURIComponent(SONNET)}/converse`, CONVERSE_BODY, {
      'x-amz-security-token': 'caller-token',
      'x-amz-date': '20200101T000000Z',
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      'x-amzn-bedrock-trace': 'ENABLED',
    });

    expect(response.status).toBe(200);
    const seen = harness.upstream.requests[0]?.headers ?? {};
    expect(seen['x-amz-security-token']).toBeUndefined();
    expect(seen['x-amz-date']).not.toBe('20200101T000000Z');
    expect(seen['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
    // Bedrock's own request headers (x-amzn-…) are the caller's to set, and pass.
    expect(seen['x-amzn-bedrock-trace']).toBe('ENABLED');
    expect(harness.upstream.refusals).toEqual([]);
  });

  it('refuses endpoints it cannot meter, in Bedrock’s error shape', async () => {
    const response = await post(`/model/${encodeURIComponent(SONNET)}/invoke-with-bidirectional-stream`, '{}');

    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      __type: 'ResourceNotFoundException',
      message: expect.stringContaining('POST /model/{modelId}/converse-stream'),
    });
    expect(harness.upstream.requests).toEqual([]);
  });
});
