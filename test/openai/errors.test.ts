import { request as httpRequest } from 'node:http';
import OpenAI from 'openai';
import { startHarness, type Harness } from '../support/harness';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http, not fetch: fetch would normalise the very paths these tests need to send. */
function raw(base: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: init.method ?? 'POST', headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

function openaiError(body: string): { message: string; type: string; code: string } {
  return (JSON.parse(body) as { error: { message: string; type: string; code: string } }).error;
}

const CHAT = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'Hi' }] };

describe('errors on the OpenAI route', () => {
  let harness: Harness;
  let key: string;
  let client: OpenAI;

  beforeEach(async () => {
    harness = await startHarness({
      config: (baseUrl) => ({
        providers: { openai: { baseUrl } },
        prices: [{ provider: 'openai', model: 'ft:gpt-4o-mini:acme::x1', input_mtok: 1, output_mtok: 2, cache_read_mtok: 0.5 }],
      }),
    });
    key = (await harness.issue()).key;
    client = new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/openai` });
  });
  afterEach(async () => {
    await harness.close();
  });

  it('answers 401 in OpenAI’s shape when no key is sent', async () => {
    const response = await raw(harness.gateway.url, '/proxy/openai/chat/completions', { body: JSON.stringify(CHAT), headers: { 'content-type': 'application/json' } });

    expect(response.status).toBe(401);
    expect(openaiError(response.body)).toMatchObject({ type: 'authentication_error', code: 'missing_api_key' });
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('rejects an unknown key through the SDK without echoing it', async () => {
    const stranger = new OpenAI({ apiKey: `tgk_0123456789ab_${'A'.repeat(43)}`, baseURL: `${harness.gateway.url}/proxy/openai` });

    const error = await stranger.chat.completions.create(CHAT).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as InstanceType<typeof OpenAI.AuthenticationError>).message).toContain('Invalid gateway key');
    expect(JSON.stringify(error)).not.toContain('A'.repeat(43));
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('rejects a provider key sent by mistake, and says what a gateway key looks like', async () => {
    const mistaken = new OpenAI({ apiKey: 'sk-proj-notagatewaykey123', baseURL: `${harness.gateway.url}/proxy/openai` });

    const error = (await mistaken.chat.completions.create(CHAT).catch((e: unknown) => e)) as Error;

    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(error.message).toContain('tgk_');
    expect(error.message).not.toContain('sk-proj-notagatewaykey123');
  });

  it('rejects a revoked key with 403 through the SDK', async () => {
    const issued = await harness.issue();
    await harness.store.revokeKey(issued.record.id, new Date());
    const revoked = new OpenAI({ apiKey: issued.key, baseURL: `${harness.gateway.url}/proxy/openai` });

    const error = (await revoked.chat.completions.create(CHAT).catch((e: unknown) => e)) as Error;

    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(error.message).toContain('revoked');
    expect(error.message).not.toContain(issued.key);
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('accepts the key as x-api-key too, and never forwards it', async () => {
    const response = await raw(harness.gateway.url, '/proxy/openai/chat/completions', {
      body: JSON.stringify(CHAT),
      headers: { 'content-type': 'application/json', 'x-api-key': key, cookie: 'session=secret' },
    });

    expect(response.status).toBe(200);
    const seen = harness.upstream.requests[0];
    expect(seen?.headers['x-api-key']).toBeUndefined();
    expect(seen?.headers.cookie).toBeUndefined();
    expect(seen?.headers.authorization).toBe('Bearer sk-upstream-test-credential');
  });

  it('answers malformed JSON with a 400 that names the problem', async () => {
    const response = await raw(harness.gateway.url, '/proxy/openai/chat/completions', {
      body: '{"model": "gpt-4o",',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    });

    expect(response.status).toBe(400);
    expect(openaiError(response.body)).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });
    expect(openaiError(response.body).message).toMatch(/not valid JSON: .+/);
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('answers an unknown route with 404 naming the routes that exist', async () => {
    const response = await raw(harness.gateway.url, '/proxy/nope/chat/completions', { headers: { authorization: `Bearer ${key}` } });

    expect(response.status).toBe(404);
    const message = openaiError(response.body).message;
    for (const route of ['openai', 'chat', 'openai-chat', 'responses', 'openai-responses', 'anthropic', 'gemini', 'converse']) expect(message).toMatch(new RegExp(` ${route}[,( ]`));
  });

  it('refuses endpoints it cannot meter instead of forwarding them unmetered', async () => {
    const error = (await client.images.generate({ model: 'dall-e-3', prompt: 'a cat' }).catch((e: unknown) => e)) as Error;

    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error.message).toContain('POST /chat/completions');
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('refuses a model with no price before forwarding, naming the model', async () => {
    const error = (await client.chat.completions.create({ ...CHAT, model: 'my-mystery-model' }).catch((e: unknown) => e)) as Error;

    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.message).toContain('Unable to calculate spend');
    expect(error.message).toContain('my-mystery-model');
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('prices a model from the operator’s custom prices', async () => {
    harness.upstream.behaviour.respondAsModel = 'ft:gpt-4o-mini:acme::x1';

    await client.chat.completions.create({ ...CHAT, model: 'ft:gpt-4o-mini:acme::x1' });

    // 86 uncached input at $1/M + 1920 cached at $0.50/M + 10 output at $2/M = $0.001066
    const counters = await harness.waitForSpend((c) => c.length > 0);
    expect(counters.find((c) => c.scope.kind === 'project' && c.period === 'lifetime')?.nanos).toBe(1_066_000);
  });

  it('passes upstream errors through unchanged', async () => {
    const upstreamError = '{"error":{"message":"Invalid value for \'temperature\'.","type":"invalid_request_error","param":"temperature","code":"invalid_value"}}';
    harness.upstream.behaviour.error = { status: 400, body: upstreamError };

    const error = (await client.chat.completions.create({ ...CHAT, temperature: 9 }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.BadRequestError>;

    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.message).toContain("Invalid value for 'temperature'.");
    expect(error.param).toBe('temperature');
    expect(error.requestID).toBe('req_fake123');
    const direct = await raw(harness.gateway.url, '/proxy/openai/chat/completions', {
      body: JSON.stringify(CHAT),
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    });
    expect(direct.status).toBe(400);
    expect(direct.body).toBe(upstreamError);
  });

  it('never lets the path or Host header choose the upstream', async () => {
    const traversal = await raw(harness.gateway.url, '/proxy/openai/../../admin', { headers: { authorization: `Bearer ${key}` }, method: 'GET' });
    const encoded = await raw(harness.gateway.url, '/proxy/openai/%2e%2e/admin', { headers: { authorization: `Bearer ${key}` }, method: 'GET' });
    const absolute = await raw(harness.gateway.url, 'http://evil.example/proxy/openai/models', { headers: { authorization: `Bearer ${key}` }, method: 'GET' });
    const hosted = await raw(harness.gateway.url, '/proxy/openai/models', { headers: { authorization: `Bearer ${key}`, host: 'evil.example' }, method: 'GET' });

    expect([traversal.status, encoded.status, absolute.status]).toEqual([400, 400, 404]);
    expect(hosted.status).toBe(200);
    expect(harness.upstream.requests).toHaveLength(1);
    expect(harness.upstream.requests[0]?.headers.host).toBe(new URL(harness.upstream.baseUrl).host);
  });

  it('answers GET and HEAD / with 200, as clients probe them', async () => {
    const get = await raw(harness.gateway.url, '/', { method: 'GET' });
    const head = await raw(harness.gateway.url, '/', { method: 'HEAD' });

    expect(get.status).toBe(200);
    expect(JSON.parse(get.body)).toEqual({ status: 'ok', service: 'tollgate' });
    expect(head.status).toBe(200);
  });
});

describe('errors when the provider is misconfigured or down', () => {
  it('answers 502 when the upstream cannot be reached', async () => {
    const harness = await startHarness({ config: () => ({ providers: { openai: { baseUrl: 'http://127.0.0.1:9/v1' } } }) });
    const { key } = await harness.issue();
    try {
      const response = await raw(harness.gateway.url, '/proxy/openai/chat/completions', {
        body: JSON.stringify(CHAT),
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      });

      expect(response.status).toBe(502);
      expect(openaiError(response.body)).toMatchObject({ code: 'upstream_unreachable', type: 'server_error' });
      expect(response.body).not.toContain(key);
    } finally {
      await harness.close();
    }
  });

  it('forwards unpriced models when the provider allows it, recording the request', async () => {
    const harness = await startHarness({ config: (baseUrl) => ({ providers: { openai: { baseUrl, allowUnpriced: true } } }) });
    const { key } = await harness.issue();
    harness.upstream.behaviour.respondAsModel = 'my-mystery-model';
    try {
      const client = new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/openai` });

      const completion = await client.chat.completions.create({ ...CHAT, model: 'my-mystery-model' });

      expect(completion.model).toBe('my-mystery-model');
      const counters = await harness.waitForSpend((c) => c.length > 0);
      expect(counters.every((c) => c.nanos === 0 && c.requests === 1)).toBe(true);
    } finally {
      await harness.close();
    }
  });
});
