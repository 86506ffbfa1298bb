import Groq from 'groq-sdk';
import { startGroqGateway, type GroqGateway } from '../support/fake-groq';

const REQUEST = { model: 'llama-3.3-70b-versatile', messages: [{ role: 'user' as const, content: 'Hi' }] };

describe('errors on the Groq route', () => {
  let gateway: GroqGateway;
  let key: string;
  let baseURL: string;

  beforeEach(async () => {
    gateway = await startGroqGateway();
    key = (await gateway.harness.issue()).key;
    baseURL = `${gateway.harness.gateway.url}/proxy/groq`;
  });
  afterEach(async () => {
    await gateway.close();
  });

  it('rejects an unknown key in OpenAI’s error shape, which groq-sdk shows', async () => {
    const stranger = new Groq({ apiKey: `tgk_0123456789ab_${'A'.repeat(43)}`, baseURL });

    const error = await stranger.chat.completions.create(REQUEST).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Groq.AuthenticationError);
    expect((error as InstanceType<typeof Groq.AuthenticationError>).error).toMatchObject({
      error: { type: 'authentication_error', code: 'invalid_api_key', message: expect.stringContaining('Invalid gateway key') },
    });
    expect(gateway.upstream.requests).toHaveLength(0);
  });

  it('refuses a model with no known price before forwarding', async () => {
    const client = new Groq({ apiKey: key, baseURL });

    const error = await client.chat.completions.create({ ...REQUEST, model: 'llama-imaginary-9' }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Groq.BadRequestError);
    expect((error as InstanceType<typeof Groq.BadRequestError>).error).toMatchObject({
      error: { code: 'unpriced_model', message: expect.stringContaining('Unable to calculate spend for model "llama-imaginary-9" on provider groq') },
    });
    expect(gateway.upstream.requests).toHaveLength(0);
  });

  it('refuses an endpoint it cannot meter, listing the one it can', async () => {
    const response = await fetch(`${baseURL}/openai/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: 'x' });

    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain('POST /openai/v1/chat/completions');
    expect(gateway.upstream.requests).toHaveLength(0);
  });

  it('passes an upstream error through byte for byte', async () => {
    const upstreamError = '{"error":{"message":"Rate limit reached for model `llama-3.3-70b-versatile`","type":"tokens","code":"rate_limit_exceeded"}}';
    gateway.upstream.error = { status: 429, body: upstreamError };

    const response = await fetch(`${baseURL}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(REQUEST),
    });

    expect(response.status).toBe(429);
    expect(await response.text()).toBe(upstreamError);
  });
});
