import { createServiceAccount, LOCATION, PROJECT, vertexFixture } from '../support/fake-google';
import { expectedNanos, expectSpendEverywhere, startVertexHarness, type VertexHarness } from '../support/vertex-harness';
import { gate, within } from '../support/gate';

const ARRAY_STREAM_NANOS = expectedNanos({ input_tokens: 27, output_tokens: 23 + 140 }, 'gemini-2.5-pro');
const SSE_STREAM_NANOS = expectedNanos({ input_tokens: 1410, cache_read_tokens: 1024, output_tokens: 19 + 87 }, 'gemini-2.5-flash');
const GENERATE_NANOS = expectedNanos({ input_tokens: 2113, cache_read_tokens: 1536, output_tokens: 14 + 59 }, 'gemini-2.5-flash');

const BODY = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] });
const CONFIGURED = `projects/${PROJECT}/locations/${LOCATION}`;

describe('Google Vertex through the gateway, raw HTTP', () => {
  let vertex: VertexHarness | undefined;

  afterEach(async () => {
    await vertex?.close();
    vertex = undefined;
  });

  async function start(options?: Parameters<typeof startVertexHarness>[0]): Promise<VertexHarness> {
    vertex = await startVertexHarness(options);
    return vertex;
  }

  function post(v: VertexHarness, path: string, init: { body?: string; key?: string; method?: string; headers?: Record<string, string> } = {}): Promise<Response> {
    return fetch(`${v.harness.gateway.url}/proxy/google-vertex${path}`, {
      method: init.method ?? 'POST',
      headers: { 'x-goog-api-key': init.key ?? v.key, 'content-type': 'application/json', ...init.headers },
      ...(init.method !== 'GET' && { body: init.body ?? BODY }),
    });
  }

  it('streams a JSON array (no alt=sse) through unbuffered, byte for byte, and meters its last usage', async () => {
    // GIVEN an upstream that sends the first element, then holds the rest
    const v = await start();
    const rest = gate();
    v.google.holdAfterFirstChunk = rest.promise;

    // WHEN
    const response = await post(v, '/v1/publishers/google/models/gemini-2.5-pro:streamGenerateContent');
    const reader = response.body!.getReader();
    // A buffering gateway could never hand over the first element while the rest is held.
    const first = await within(reader.read(), 5_000, 'the first element did not arrive while the upstream held the rest');
    rest.open();
    const chunks = [Buffer.from(first.value!)];
    for (let next = await reader.read(); !next.done; next = await reader.read()) chunks.push(Buffer.from(next.value));

    // THEN the first element arrived inside the pause, the whole body is the upstream's, and it cost what it used
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=UTF-8');
    expect(Buffer.concat(chunks).equals(vertexFixture('stream.json'))).toBe(true);
    expect(v.google.requests[0]?.url).toBe(`/v1/${CONFIGURED}/publishers/google/models/gemini-2.5-pro:streamGenerateContent`);
    expectSpendEverywhere(await v.harness.waitForSpend((c) => c.length === 12), v.keyId, ARRAY_STREAM_NANOS);
  });

  it('passes an SSE stream through byte for byte, keeping the caller’s alt=sse', async () => {
    const v = await start();

    const response = await post(v, '/v1beta1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    const body = Buffer.from(await response.arrayBuffer());

    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(body.equals(vertexFixture('stream.sse'))).toBe(true);
    expect(v.google.requests[0]?.url).toBe(`/v1beta1/${CONFIGURED}/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse`);
    expectSpendEverywhere(await v.harness.waitForSpend((c) => c.length === 12), v.keyId, SSE_STREAM_NANOS);
  });

  it('replaces a caller’s project and location with the configured ones, and returns the upstream bytes with the cost', async () => {
    // GIVEN a caller naming another project and region
    const v = await start();

    // WHEN
    const response = await post(v, '/v1/projects/someone-elses-project/locations/us-east1/publishers/google/models/gemini-2.5-flash:generateContent', {
      headers: { 'x-goog-user-project': 'someone-elses-project', 'x-goog-api-client': 'raw-test/1.0' },
    });
    const body = Buffer.from(await response.arrayBuffer());

    // THEN the upstream only ever saw the gateway's project and location
    expect(response.status).toBe(200);
    expect(body.equals(vertexFixture('generate-content.json'))).toBe(true);
    expect(response.headers.get('pydantic-ai-gateway-price-estimate')).toMatch(/^0\.\d+USD$/);
    expect(v.google.requests.map((r) => r.url)).toEqual([`/v1/${CONFIGURED}/publishers/google/models/gemini-2.5-flash:generateContent`]);
    expect(v.google.requests[0]?.body.toString('utf8')).toBe(BODY);
    // Nor could it bill another project's quota; the caller's other headers pass as sent.
    expect(v.google.requests[0]?.headers['x-goog-user-project']).toBeUndefined();
    expect(v.google.requests[0]?.headers['x-goog-api-client']).toBe('raw-test/1.0');
    expectSpendEverywhere(await v.harness.waitForSpend((c) => c.length === 12), v.keyId, GENERATE_NANOS);
  });

  it('passes countTokens and model listing through, unmetered and byte for byte', async () => {
    const v = await start();

    const counted = await post(v, '/v1/projects/x/locations/y/publishers/google/models/gemini-2.5-flash:countTokens');
    const listed = await post(v, '/v1beta1/publishers/google/models', { method: 'GET' });

    expect(Buffer.from(await counted.arrayBuffer()).equals(vertexFixture('count-tokens.json'))).toBe(true);
    expect(await listed.json()).toEqual({ publisherModels: [{ name: 'publishers/google/models/gemini-2.5-flash' }] });
    expect(v.google.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      `POST /v1/${CONFIGURED}/publishers/google/models/gemini-2.5-flash:countTokens`,
      'GET /v1beta1/publishers/google/models',
    ]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await v.harness.store.getSpend()).toEqual([]);
  });

  it('mints a new token once the cached one is within five minutes of expiring', async () => {
    // GIVEN tokens that are already inside the refresh margin when issued
    const v = await start();
    v.google.tokenLifetimeSeconds = 299;

    // WHEN two requests follow each other
    await (await post(v, '/v1/publishers/google/models/gemini-2.5-flash:countTokens')).arrayBuffer();
    await (await post(v, '/v1/publishers/google/models/gemini-2.5-flash:countTokens')).arrayBuffer();

    // THEN each carried its own fresh token
    expect(v.google.mints.map((m) => m.token)).toEqual(['ya29.fake-access-token-1', 'ya29.fake-access-token-2']);
    expect(v.google.requests.map((r) => r.headers.authorization)).toEqual(['Bearer ya29.fake-access-token-1', 'Bearer ya29.fake-access-token-2']);
  });

  it('answers in Google’s error shape when Google refuses the gateway’s service account, and forwards nothing', async () => {
    const v = await start({ credential: createServiceAccount().json });

    const response = await post(v, '/v1/publishers/google/models/gemini-2.5-flash:generateContent');

    expect(response.status).toBe(500);
    const body = (await response.json()) as { error: { code: number; message: string; status: string } };
    expect(body.error).toMatchObject({ code: 500, status: 'INTERNAL' });
    expect(body.error.message).toContain('Invalid JWT Signature.');
    expect(v.google.refusals).toEqual(['Invalid JWT Signature.']);
    expect(v.google.requests).toHaveLength(0);
  });

  it('refuses project-scoped calls when the gateway has no project configured', async () => {
    const v = await start({ options: { project: undefined } });

    const response = await post(v, '/v1/projects/someone-elses-project/locations/us-east1/publishers/google/models/gemini-2.5-flash:generateContent');

    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: { code: 500, message: expect.stringContaining('options.project'), status: 'INTERNAL' } });
    expect(v.google.requests).toHaveLength(0);
  });

  it('refuses endpoints it cannot meter, in Google’s error shape', async () => {
    const v = await start();

    // Claude's rawPredict is served (test/google-vertex/claude.test.ts); Gemini's would be unmetered.
    const response = await post(v, '/v1/publishers/google/models/gemini-2.5-flash:rawPredict');

    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: { status: string; message: string } };
    expect(body.error.status).toBe('NOT_FOUND');
    expect(body.error.message).toContain(':generateContent');
    expect(v.google.requests).toHaveLength(0);
  });
});
