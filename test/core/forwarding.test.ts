import Anthropic from '@anthropic-ai/sdk';
import { request } from 'node:http';
import { UPSTREAM_KEY } from '../support/fake-openai';
import { startHarness, startProviderGateway, type Harness } from '../support/harness';
import { startRecordingServer } from '../support/recording-server';
import { startRawUpstream } from '../support/raw-upstream';
import { recordingLogger } from '../support/recording-logger';
import { CHAT_BODY, CHAT_ESTIMATE } from '../limits/support';

describe('what leaves for the upstream', () => {
  let harness: Harness;
  let key: string;

  beforeAll(async () => {
    harness = await startHarness();
    key = (await harness.issue()).key;
  });
  afterAll(async () => {
    await harness.close();
  });
  beforeEach(() => harness.upstream.reset());

  it('never carries the gateway key: not in a query parameter, an api-key header, or any header that contains it', async () => {
    // WHEN a client repeats its key everywhere it might ride
    const response = await fetch(`${harness.gateway.url}/proxy/openai/chat/completions?key=${encodeURIComponent(key)}&api_key=${key}x&keep=1`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'api-key': key,
        'x-forwarded-authorization': `Bearer ${key}`,
        'x-custom-token': `prefix-${key}-suffix`,
        'x-kept': 'kept',
        'content-type': 'application/json',
      },
      body: CHAT_BODY,
    });
    await response.arrayBuffer();

    // THEN the upstream saw none of it, but everything else as sent
    expect(response.status).toBe(200);
    const seen = harness.upstream.requests[0]!;
    const everything = JSON.stringify({ url: seen.url, headers: seen.headers });
    expect(everything).not.toContain(key);
    expect(everything).not.toContain(encodeURIComponent(key));
    expect(seen.url).toBe('/v1/chat/completions?keep=1');
    expect(seen.headers['api-key']).toBeUndefined();
    expect(seen.headers['x-kept']).toBe('kept');
    expect(seen.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
  });

  it('never lets the caller pick the organization or project the gateway’s OpenAI key bills', async () => {
    // WHEN a client names another organization and project, as the OpenAI SDK does from OPENAI_ORG_ID and OPENAI_PROJECT_ID
    const response = await fetch(`${harness.gateway.url}/proxy/openai/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'openai-organization': 'org-someone-else', 'openai-project': 'proj_someone_else', 'content-type': 'application/json' },
      body: CHAT_BODY,
    });
    await response.arrayBuffer();

    // THEN the upstream sees neither: the key's own defaults apply
    expect(response.status).toBe(200);
    const seen = harness.upstream.requests[0]!;
    expect(seen.headers['openai-organization']).toBeUndefined();
    expect(seen.headers['openai-project']).toBeUndefined();
  });

  it('drops the hop-by-hop headers a Connection header names (RFC 9110 §7.6.1), and method overrides', async () => {
    // fetch refuses to send a Connection header of its own: node:http sends it as given.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${harness.gateway.url}/proxy/openai/chat/completions`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          connection: 'keep-alive, x-hop-one, X-Hop-Two',
          'x-hop-one': 'hop',
          'x-hop-two': 'hop',
          'x-end-to-end': 'kept',
          'x-http-method-override': 'DELETE',
        },
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(CHAT_BODY);
    });

    expect(status).toBe(200);
    const seen = harness.upstream.requests[0]!;
    expect(seen.headers['x-hop-one']).toBeUndefined();
    expect(seen.headers['x-hop-two']).toBeUndefined();
    expect(seen.headers['x-end-to-end']).toBe('kept');
    // Not hop-by-hop, but it would turn the metered POST into another method at APIs that honour it.
    expect(seen.headers['x-http-method-override']).toBeUndefined();
  });
});

describe('an upstream that fails to answer', () => {
  async function chat(harness: Harness): Promise<{ response: Response; keyId: string }> {
    const { key, record } = await harness.issue();
    const response = await fetch(`${harness.gateway.url}/proxy/openai/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: CHAT_BODY,
    });
    return { response, keyId: record.id };
  }

  async function lifetimeSpend(harness: Harness, keyId: string): Promise<number | undefined> {
    const counters = await harness.waitForSpend((c) => c.some((x) => x.requests === 1 && x.reservedNanos === 0));
    return counters.find((c) => c.scope.kind === 'key' && c.scope.id === keyId && c.period === 'lifetime')?.nanos;
  }

  it('that takes the request and never answers is cut after the first-byte timeout with a 504, and charged its reservation, not $0', async () => {
    // GIVEN an upstream that reads each request and sends nothing back, and a short first-byte timeout
    const silent = await startRawUpstream(() => {});
    const logger = recordingLogger();
    const harness = await startHarness({ config: () => ({ providers: { openai: { baseUrl: silent.baseUrl } }, upstream: { firstByteTimeoutMs: 300 } }), logger });
    try {
      // WHEN
      const { response, keyId } = await chat(harness);

      // THEN the client hears it timed out, the provider did get the request, and the possible bill is held against the key
      expect(response.status).toBe(504);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('upstream_timeout');
      expect(silent.received()).toBe(1);
      expect(await lifetimeSpend(harness, keyId)).toBe(CHAT_ESTIMATE);
      expect(logger.lines.find((line) => line.event === 'request_settled')?.fields).toMatchObject({ outcome: 'no-response', nanos: CHAT_ESTIMATE });
    } finally {
      await harness.close();
      await silent.close();
    }
  });

  it('that starts a document and goes silent is cut after the idle timeout with a 504 (the gateway’s limit cut it), and settled at once at its reservation (the model ran)', async () => {
    // GIVEN an upstream that announces 2000 bytes, sends ten, and then nothing
    const stalling = await startRawUpstream((res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2000' });
      res.write('{"id":"x",');
    });
    const logger = recordingLogger();
    const harness = await startHarness({ config: () => ({ providers: { openai: { baseUrl: stalling.baseUrl } }, upstream: { idleTimeoutMs: 300 } }), logger });
    try {
      const { response, keyId } = await chat(harness);

      expect(response.status).toBe(504);
      const { error } = (await response.json()) as { error: { code: string; message: string } };
      expect(error).toMatchObject({ code: 'upstream_timeout', message: expect.stringContaining('went silent') });
      expect(await lifetimeSpend(harness, keyId)).toBe(CHAT_ESTIMATE);
      expect(logger.lines.find((line) => line.event === 'request_settled')?.fields).toMatchObject({ outcome: 'upstream-failed', basis: 'usage-missing' });
    } finally {
      await harness.close();
      await stalling.close();
    }
  });

  it('that starts a stream and goes silent is ended after the idle timeout with the API’s own error event naming the timeout, and settled', async () => {
    // GIVEN an upstream that sends a stream's first event, and then nothing
    const first = 'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"}}]}\n\n';
    const stalling = await startRawUpstream((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(first);
    });
    const logger = recordingLogger();
    const harness = await startHarness({ config: () => ({ providers: { openai: { baseUrl: stalling.baseUrl } }, upstream: { idleTimeoutMs: 300 } }), logger });
    try {
      // WHEN
      const { key, record } = await harness.issue();
      const response = await fetch(`${harness.gateway.url}/proxy/openai/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...(JSON.parse(CHAT_BODY) as object), stream: true }),
      });
      const text = await response.text();

      // THEN the client got what came, then OpenAI's stream error shape with the gateway's 504 code, not a clean end
      expect(response.status).toBe(200);
      expect(text.startsWith(first)).toBe(true);
      const events = text.slice(first.length).split('\n\n').filter((event) => event !== '');
      expect(events).toHaveLength(1);
      expect(JSON.parse(events[0]!.replace(/^data: /, ''))).toEqual({
        error: { message: expect.stringContaining('went silent'), type: 'server_error', param: null, code: 'upstream_timeout' },
      });
      // AND the request was settled at its reservation (its usage never came), nothing left held
      await harness.waitForSpend((c) => c.some((x) => x.scope.kind === 'key' && x.scope.id === record.id && x.period === 'lifetime' && x.requests === 1 && x.reservedNanos === 0));
      const settled = logger.lines.find((line) => line.event === 'request_settled')!.fields;
      expect(settled).toMatchObject({ outcome: 'upstream-failed', basis: 'usage-missing', status: 200 });
      expect(settled['nanos']).toBe(settled['estimate_nanos']);
    } finally {
      await harness.close();
      await stalling.close();
    }
  });
});

describe('an upstream that redirects', () => {
  it.each([301, 302, 303, 307, 308])(
    'answers a %i with a 502 in the API’s shape, never its Location: the client’s SDK would follow it elsewhere with the gateway key',
    async (status) => {
      // GIVEN somewhere else that records what reaches it, and an Anthropic upstream that redirects every request there
      const elsewhere = await startRecordingServer((_seen, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
      const redirecting = await startRecordingServer((_seen, res) => {
        res.writeHead(status, { location: `${elsewhere.origin}/v1/messages`, 'content-length': '0' });
        res.end();
      });
      const gateway = await startProviderGateway('anthropic', { baseUrl: redirecting.origin, close: () => redirecting.close() }, { ANTHROPIC_API_KEY: 'sk-ant-upstream' });
      try {
        const { key, record } = await gateway.harness.issue();
        // The Anthropic SDK sends the gateway key as x-api-key, which fetch keeps across origins when it follows a redirect.
        const anthropic = new Anthropic({ apiKey: key, baseURL: `${gateway.harness.gateway.url}/proxy/anthropic`, maxRetries: 0 });

        // WHEN a client calls through the gateway
        const failure = await anthropic.messages.create({ model: 'claude-sonnet-4-20250514', max_tokens: 50, messages: [{ role: 'user', content: 'a secret prompt' }] }).catch((error: unknown) => error);

        // THEN its SDK shows the gateway's error, nothing reached the other host, and nothing was charged (no model ran)
        expect(failure).toBeInstanceOf(Anthropic.APIError);
        expect((failure as InstanceType<typeof Anthropic.APIError>).status).toBe(502);
        expect(String(failure)).toMatch(new RegExp(`answered with a redirect \\(HTTP ${status}\\)`));
        expect(elsewhere.requests).toEqual([]);
        expect(redirecting.requests).toHaveLength(1);
        const counters = await gateway.harness.waitForSpend((c) => c.some((x) => x.scope.id === record.id && x.requests === 1 && x.reservedNanos === 0));
        expect(counters.find((c) => c.scope.id === record.id && c.period === 'lifetime')?.nanos).toBe(0);
      } finally {
        await gateway.close();
        await elsewhere.close();
      }
    },
  );

  it('passes a 304 to a conditional request through as it is', async () => {
    const harness = await startHarness();
    try {
      const { key } = await harness.issue();
      harness.upstream.behaviour.raw = (res) => {
        res.writeHead(304, { etag: '"models-v1"' });
        res.end();
      };
      const response = await fetch(`${harness.gateway.url}/proxy/openai/models`, { headers: { authorization: `Bearer ${key}`, 'if-none-match': '"models-v1"' } });

      expect(response.status).toBe(304);
      expect(response.headers.get('etag')).toBe('"models-v1"');
    } finally {
      await harness.close();
    }
  });
});

describe('what comes back from the upstream', () => {
  it.each([
    ['a stream', true],
    ['a document whose usage cannot be read', false],
  ])('never carries cost or error headers of the gateway’s own that the upstream sent, on %s', async (_what, stream) => {
    // GIVEN an upstream (another gateway, say) that sends tollgate's own headers
    const harness = await startHarness();
    try {
      const { key } = await harness.issue();
      harness.upstream.behaviour.raw = (res) => {
        res.writeHead(200, {
          'content-type': stream ? 'text/event-stream' : 'text/html',
          'x-tollgate-cost-usd': '0.000001',
          'pydantic-ai-gateway-price-estimate': '0.000001USD',
          'x-tollgate-error': 'none',
          'x-request-id': 'req_kept',
        });
        res.end(stream ? 'data: [DONE]\n\n' : '<html>busy</html>');
      };

      // WHEN
      const response = await fetch(`${harness.gateway.url}/proxy/openai/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...JSON.parse(CHAT_BODY), stream }),
      });
      await response.arrayBuffer();

      // THEN the client sees none of them (this gateway charged its reservation, not $0.000001), and the upstream's own headers as sent
      expect(response.status).toBe(200);
      expect(response.headers.get('x-tollgate-cost-usd')).toBeNull();
      expect(response.headers.get('pydantic-ai-gateway-price-estimate')).toBeNull();
      expect(response.headers.get('x-tollgate-error')).toBeNull();
      expect(response.headers.get('x-request-id')).toBe('req_kept');
      expect(response.headers.get('x-tollgate-provider')).toBe('openai');
    } finally {
      await harness.close();
    }
  });
});
