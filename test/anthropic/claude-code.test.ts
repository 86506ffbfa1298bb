import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import { calcPrice } from '@pydantic/genai-prices';
import { usdToNanos } from '../../lambda/pricing/money';
import { ANTHROPIC_UPSTREAM_KEY, anthropicFixture, startAnthropicGateway, type AnthropicGateway } from '../support/fake-anthropic';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** node:http, so the test decides every header, and compressed bytes stay compressed. */
function raw(base: string, path: string, init: { method: string; headers?: Record<string, string>; body?: string }): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: init.method, headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

// What Claude Code sends, from its request logs: a streamed beta call with its own headers.
const CLAUDE_CODE_BODY = JSON.stringify({
  model: 'claude-sonnet-4-20250514',
  max_tokens: 32000,
  stream: true,
  system: [{ type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral', ttl: '1h' } }],
  messages: [{ role: 'user', content: [{ type: 'text', text: 'hello' }] }],
  metadata: { user_id: 'user_abc_account__session_123' },
});

function claudeCodeHeaders(key: string): Record<string, string> {
  return {
    authorization: `Bearer ${key}`,
    'anthropic-version': '2023-06-01',
    'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14,extended-cache-ttl-2025-04-11',
    'anthropic-dangerous-direct-browser-access': 'true',
    'x-app': 'cli',
    'user-agent': 'claude-cli/2.1.0 (external, cli)',
    'accept-encoding': 'gzip, deflate, br, zstd',
    'content-type': 'application/json',
  };
}

const STREAM_NANOS = usdToNanos(
  calcPrice(
    { input_tokens: 472 + 1200 + 3150, cache_write_tokens: 1200, cache_write_1h_tokens: 1200, cache_read_tokens: 3150, output_tokens: 37 },
    'claude-sonnet-4-20250514',
    { providerId: 'anthropic' },
  )?.total_price ?? NaN,
);

describe('Claude Code through the gateway (ANTHROPIC_BASE_URL=<gateway>/proxy/anthropic, ANTHROPIC_AUTH_TOKEN=<gateway key>)', () => {
  let gateway: AnthropicGateway;
  let key: string;

  beforeEach(async () => {
    gateway = await startAnthropicGateway();
    key = (await gateway.harness.issue()).key;
  });
  afterEach(async () => {
    await gateway.close();
  });

  it.each(['/', '/proxy/anthropic', '/proxy/anthropic/'])('answers the credential-free HEAD %s probe with 200, without calling upstream', async (path) => {
    const response = await raw(gateway.harness.gateway.url, path, { method: 'HEAD', headers: { 'user-agent': 'Bun/1.2.0' } });

    expect(response.status).toBe(200);
    expect(gateway.upstream.requests).toHaveLength(0);
  });

  it('still answers 404 to a probe of a route that does not exist', async () => {
    const response = await raw(gateway.harness.gateway.url, '/proxy/anthropics', { method: 'HEAD' });

    expect(response.status).toBe(404);
  });

  it('forwards a streamed POST /v1/messages?beta=true with the client’s Anthropic headers and the provider key, and meters it', async () => {
    // GIVEN an upstream that compresses, as the real API does when the client accepts it
    gateway.upstream.behaviour.gzip = true;

    // WHEN Claude Code posts its turn
    const response = await raw(gateway.harness.gateway.url, '/proxy/anthropic/v1/messages?beta=true', {
      method: 'POST',
      headers: claudeCodeHeaders(key),
      body: CLAUDE_CODE_BODY,
    });

    // THEN it gets the upstream's compressed bytes, the upstream got the client's request with the provider key only
    expect(response.status).toBe(200);
    expect(response.headers['content-encoding']).toBe('gzip');
    expect(response.body.equals(gzipSync(anthropicFixture('message-stream.sse')))).toBe(true);
    const seen = gateway.upstream.requests[0];
    expect(seen?.url).toBe('/v1/messages?beta=true');
    expect(seen?.body.toString('utf8')).toBe(CLAUDE_CODE_BODY);
    expect(seen?.headers).toMatchObject({
      'x-api-key': ANTHROPIC_UPSTREAM_KEY,
      'anthropic-version': '2023-06-01',
      'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14,extended-cache-ttl-2025-04-11',
      'anthropic-dangerous-direct-browser-access': 'true',
      'x-app': 'cli',
      'user-agent': 'claude-cli/2.1.0 (external, cli)',
    });
    expect(seen?.headers.authorization).toBeUndefined();
    expect(JSON.stringify(seen?.headers)).not.toContain(key);
    const counters = await gateway.harness.waitForSpend((c) => c.length === 12);
    expect(counters.every((c) => c.nanos === STREAM_NANOS && c.requests === 1)).toBe(true);
  });
});
