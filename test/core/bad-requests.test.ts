import { connect } from 'node:net';
import { startHarness, type Harness } from '../support/harness';

/** Sends raw bytes and resolves with whatever the server answered before it closed or went quiet. */
function rawExchange(url: string, request: string, quietMs = 2_000): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    let answer = '';
    let timer = setTimeout(() => socket.destroy(), quietMs);
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(() => socket.destroy(), quietMs);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.on('error', reject);
  });
}

describe('requests the gateway refuses in the API’s own shape, never with a 500', () => {
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

  async function chat(body: string): Promise<Response> {
    return fetch(`${harness.gateway.url}/proxy/openai/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body,
    });
  }

  it('answers 400 to a million-deep nested body on a stream it must rewrite', async () => {
    const depth = 1_000_000;
    const body = `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Hi"}],"x":${'['.repeat(depth)}${']'.repeat(depth)}}`;

    const response = await chat(body);

    expect(response.status).toBe(400);
    const error = ((await response.json()) as { error: { message: string; code: string } }).error;
    expect(error.code).toBe('invalid_json');
    expect(error.message).toMatch(/nested too deeply/);
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('answers 400 to a max_tokens whose cost cannot be reserved', async () => {
    const response = await chat(JSON.stringify({ model: 'gpt-4o', max_tokens: Number.MAX_SAFE_INTEGER, messages: [{ role: 'user', content: 'Hi' }] }));

    expect(response.status).toBe(400);
    const error = ((await response.json()) as { error: { message: string } }).error;
    expect(error.message).toMatch(/may cost up to more than \$10000\.00/);
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it.each([
    ['max_tokens', '"1000"'],
    ['max_tokens', '-1'],
    ['max_tokens', '0'],
    ['max_tokens', '1.5'],
    ['n', '"64"'],
    ['n', '0'],
  ])('answers 400 to %s: %s, which it could not bound', async (field, value) => {
    const response = await chat(`{"model":"gpt-4o","${field}":${value},"messages":[{"role":"user","content":"Hi"}]}`);

    expect(response.status).toBe(400);
    const error = ((await response.json()) as { error: { message: string } }).error;
    expect(error.message).toContain(`"${field}"`);
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('answers 400 to a model name longer than any model has, without echoing it, pricing it or forwarding it — even where unpriced models are allowed', async () => {
    // GIVEN an account that forwards models it has no price for
    const lenient = await startHarness({ config: (baseUrl) => ({ providers: { openai: { baseUrl, unpriced: 'allow' } } }) });
    try {
      const lenientKey = (await lenient.issue()).key;

      // WHEN a request names a 4 MB model
      const response = await fetch(`${lenient.gateway.url}/proxy/openai/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${lenientKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: `gpt-4o-${'x'.repeat(4 * 1024 * 1024)}`, max_tokens: 5, messages: [{ role: 'user', content: 'Hi' }] }),
      });

      // THEN it is refused in OpenAI's shape, briefly, and nothing reached the provider
      expect(response.status).toBe(400);
      const text = await response.text();
      expect(text.length).toBeLessThan(1_000);
      expect(JSON.parse(text)).toEqual({ error: { message: expect.stringMatching(/model name is 4194311 characters long; tollgate accepts at most 512/), type: 'invalid_request_error', param: null, code: 'invalid_request' } });
      expect(lenient.upstream.requests).toHaveLength(0);
    } finally {
      await lenient.close();
    }
  });

  it('answers 413 at once to a body announced larger than the limit, without waiting for it', async () => {
    // The announced 100 GB never comes: a gateway that waited for it would not answer at all.
    const answer = await rawExchange(
      harness.gateway.url,
      `POST /proxy/openai/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\ncontent-type: application/json\r\ncontent-length: 100000000000\r\n\r\n{"mo`,
    );

    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toContain('"code":"body_too_large"');
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('answers 426 to a WebSocket upgrade (Codex CLI falls back to HTTP at once on it), forwarding nothing', async () => {
    const answer = await rawExchange(
      harness.gateway.url,
      `GET /proxy/openai/responses HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );

    expect(answer).toMatch(/^HTTP\/1\.1 426 /);
    expect(answer).toContain('"code":"upgrade_required"');
    expect(answer).toMatch(/WebSocket/);
    expect(harness.upstream.requests).toHaveLength(0);
  });
});
