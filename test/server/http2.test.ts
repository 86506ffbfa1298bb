import { connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { fixture, UPSTREAM_KEY } from '../support/fake-openai';
import { startHarness, type Harness } from '../support/harness';

const CHAT = { model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] };

interface Http2Result {
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** Set when the stream ended in an error (RST_STREAM) rather than a clean END_STREAM. */
  readonly error?: Error;
}

function request(session: ClientHttp2Session, path: string, headers: Record<string, string>, body?: string): Promise<Http2Result> {
  return new Promise((resolve) => {
    const stream = session.request({ ':method': body === undefined ? 'GET' : 'POST', ':path': path, ...headers });
    const chunks: Buffer[] = [];
    let responseHeaders: IncomingHttpHeaders = {};
    stream.on('response', (h) => (responseHeaders = h));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve({ headers: responseHeaders, body: Buffer.concat(chunks) }));
    stream.on('error', (error) => resolve({ headers: responseHeaders, body: Buffer.concat(chunks), error }));
    stream.end(body);
  });
}

describe('the local server speaks HTTP/2 cleartext (prior knowledge) beside HTTP/1.1 on one port', () => {
  let harness: Harness;
  let key: string;
  let session: ClientHttp2Session;

  beforeEach(async () => {
    harness = await startHarness();
    key = (await harness.issue()).key;
    session = connect(harness.gateway.url);
  });
  afterEach(async () => {
    session.destroy();
    await harness.close();
  });

  it('answers an HTTP/2 request with the upstream bytes, and forwards no pseudo-headers', async () => {
    const result = await request(session, '/proxy/openai/chat/completions', { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, JSON.stringify(CHAT));

    expect(result.headers[':status']).toBe(200);
    expect(result.body.equals(fixture('chat.json'))).toBe(true);
    const seen = harness.upstream.requests[0]?.headers ?? {};
    expect(Object.keys(seen).filter((name) => name.startsWith(':'))).toEqual([]);
    expect(seen.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
  });

  it('serves HTTP/1.1 and HTTP/2 clients at the same time', async () => {
    const [viaHttp2, viaHttp1] = await Promise.all([
      request(session, '/', {}),
      fetch(`${harness.gateway.url}/`).then(async (response) => ({ status: response.status, body: await response.text() })),
    ]);

    expect(viaHttp2.headers[':status']).toBe(200);
    expect(JSON.parse(viaHttp2.body.toString('utf8'))).toEqual({ status: 'ok', service: 'tollgate' });
    expect(viaHttp1).toEqual({ status: 200, body: '{"status":"ok","service":"tollgate"}' });
  });

  it('resets the stream, rather than ending it cleanly, when the upstream breaks mid-body', async () => {
    // Inside an event, where no error event can follow: the body itself fails.
    harness.upstream.behaviour.cutStreamAfterChunks = 2;
    harness.upstream.behaviour.cutMidEvent = true;

    const result = await request(
      session,
      '/proxy/openai/chat/completions',
      { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      JSON.stringify({ ...CHAT, stream: true }),
    );

    expect(result.headers[':status']).toBe(200);
    expect(result.body.length).toBeGreaterThan(0);
    expect(result.error?.message).toMatch(/NGHTTP2_INTERNAL_ERROR/);
  });
});
