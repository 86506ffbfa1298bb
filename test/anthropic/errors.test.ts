import Anthropic from '@anthropic-ai/sdk';
import { startHarness, type Harness } from '../support/harness';
import { startAnthropicGateway, startFakeAnthropic, type AnthropicGateway, type FakeAnthropic } from '../support/fake-anthropic';

const REQUEST = { model: 'claude-sonnet-4-20250514', max_tokens: 64, messages: [{ role: 'user' as const, content: 'Hi' }] };

/** The body every Anthropic error has: `{"type":"error","error":{"type","message"}}`. */
function anthropicError(body: string): { type: string; message: string } {
  const parsed = JSON.parse(body) as { type: string; error: { type: string; message: string } };
  expect(parsed.type).toBe('error');
  return parsed.error;
}

describe('errors on the Anthropic route', () => {
  let gateway: AnthropicGateway;
  let key: string;
  let url: string;

  beforeEach(async () => {
    gateway = await startAnthropicGateway();
    key = (await gateway.harness.issue()).key;
    url = `${gateway.harness.gateway.url}/proxy/anthropic`;
  });
  afterEach(async () => {
    await gateway.close();
  });

  it('answers 401 in Anthropic’s shape when no key is sent', async () => {
    const response = await fetch(`${url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify(REQUEST),
    });

    expect(response.status).toBe(401);
    expect(anthropicError(await response.text())).toMatchObject({ type: 'authentication_error', message: expect.stringContaining('No gateway key') });
    expect(gateway.upstream.requests).toHaveLength(0);
  });

  it('rejects an unknown key through the SDK, which shows the gateway’s message', async () => {
    const stranger = new Anthropic({ authToken: `tgk_0123456789ab_${'A'.repeat(43)}`, apiKey: null, baseURL: url });

    const error = await stranger.messages.create(REQUEST).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((error as InstanceType<typeof Anthropic.AuthenticationError>).message).toContain('Invalid gateway key');
    expect(gateway.upstream.requests).toHaveLength(0);
  });

  it('refuses a model with no known price before forwarding, as an invalid_request_error', async () => {
    const client = new Anthropic({ apiKey: key, baseURL: url });

    const error = await client.messages.create({ ...REQUEST, model: 'claude-imaginary-9' }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringContaining('Unable to calculate spend for model "claude-imaginary-9"') },
    });
    expect(gateway.upstream.requests).toHaveLength(0);
  });

  it('refuses an endpoint it cannot meter with a not_found_error that lists what works', async () => {
    const response = await fetch(`${url}/v1/messages/batches`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ requests: [] }),
    });

    expect(response.status).toBe(404);
    expect(anthropicError(await response.text())).toMatchObject({ type: 'not_found_error', message: expect.stringContaining('POST /v1/messages') });
    expect(gateway.upstream.requests).toHaveLength(0);
  });

  it('passes an upstream error through byte for byte and records the request at no cost', async () => {
    const upstreamError = '{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}';
    gateway.upstream.behaviour.error = { status: 400, body: upstreamError };

    const response = await fetch(`${url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: REQUEST.model, messages: REQUEST.messages }),
    });

    expect(response.status).toBe(400);
    expect(await response.text()).toBe(upstreamError);
    const counters = await gateway.harness.waitForSpend((c) => c.length === 12);
    expect(counters.every((c) => c.nanos === 0 && c.requests === 1)).toBe(true);
  });
});

describe('the Anthropic route with no provider credential configured', () => {
  let upstream: FakeAnthropic;
  let harness: Harness;

  beforeEach(async () => {
    upstream = await startFakeAnthropic();
    // No ANTHROPIC_API_KEY in the gateway's environment.
    harness = await startHarness({ config: (openaiBaseUrl) => ({ providers: { openai: { baseUrl: openaiBaseUrl }, anthropic: { baseUrl: upstream.baseUrl } } }) });
  });
  afterEach(async () => {
    await harness.close();
    await upstream.close();
  });

  it('answers 500 api_error naming the provider, and sends nothing upstream', async () => {
    const { key } = await harness.issue();
    const client = new Anthropic({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/anthropic`, maxRetries: 0 });

    const error = await client.messages.create(REQUEST).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Anthropic.InternalServerError);
    expect((error as InstanceType<typeof Anthropic.InternalServerError>).error).toMatchObject({ error: { type: 'api_error', message: expect.stringContaining('anthropic') } });
    expect(upstream.requests).toHaveLength(0);
  });
});
