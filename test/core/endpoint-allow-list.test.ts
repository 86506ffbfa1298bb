import { request as httpRequest } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import Groq from 'groq-sdk';
import OpenAI from 'openai';
import { startBedrockHarness, type BedrockHarness } from '../support/bedrock-harness';
import { startAnthropicGateway, type AnthropicGateway } from '../support/fake-anthropic';
import { LOCATION, PROJECT } from '../support/fake-google';
import { startGroqGateway, type GroqGateway } from '../support/fake-groq';
import { startHarness, type Harness } from '../support/harness';
import { startVertexHarness, type VertexHarness } from '../support/vertex-harness';

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** node:http, so the request target reaches the gateway exactly as written (fetch would normalise it). */
function raw(base: string, target: string, method: string, headers: Record<string, string>, body?: string): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path: target, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** One route under test: how to reach it, what its upstream saw, and its API's 404 shape. */
interface RouteUnderTest {
  readonly prefix: string;
  readonly headers: Record<string, string>;
  readonly upstreamRequests: () => readonly { method: string; url: string }[];
  readonly notFound: (message: unknown) => unknown;
  readonly badRequest: (message: unknown) => unknown;
  /** A free endpoint the 404 must name, so the caller sees what works. */
  readonly listsFree: string;
}

const openaiShape = (type: string, code: string) => (message: unknown) => ({ error: { message, type, param: null, code } });

let openai: Harness;
let anthropic: AnthropicGateway;
let groq: GroqGateway;
let vertex: VertexHarness;
let bedrock: BedrockHarness;
const routes: Record<string, RouteUnderTest> = {};

beforeAll(async () => {
  [openai, anthropic, groq, vertex, bedrock] = await Promise.all([startHarness(), startAnthropicGateway(), startGroqGateway(), startVertexHarness(), startBedrockHarness()]);
  const [openaiKey, anthropicKey, groqKey, bedrockKey] = await Promise.all([openai.issue(), anthropic.harness.issue(), groq.harness.issue(), bedrock.issue()]);
  routes['openai'] = {
    prefix: `${openai.gateway.url}/proxy/openai`,
    headers: { authorization: `Bearer ${openaiKey.key}` },
    upstreamRequests: () => openai.upstream.requests,
    notFound: openaiShape('not_found_error', 'unsupported_endpoint'),
    badRequest: openaiShape('invalid_request_error', 'invalid_request'),
    listsFree: 'Free (no model runs): GET /models, GET /models/{model}, POST /responses/input_tokens.',
  };
  routes['anthropic'] = {
    prefix: `${anthropic.harness.gateway.url}/proxy/anthropic`,
    headers: { 'x-api-key': anthropicKey.key, 'anthropic-version': '2023-06-01' },
    upstreamRequests: () => anthropic.upstream.requests,
    notFound: (message) => ({ type: 'error', error: { type: 'not_found_error', message } }),
    badRequest: (message) => ({ type: 'error', error: { type: 'invalid_request_error', message } }),
    listsFree: 'Free (no model runs): POST /v1/messages/count_tokens, GET /v1/models, GET /v1/models/{model}.',
  };
  routes['groq'] = {
    prefix: `${groq.harness.gateway.url}/proxy/groq`,
    headers: { authorization: `Bearer ${groqKey.key}` },
    upstreamRequests: () => groq.upstream.requests,
    notFound: openaiShape('not_found_error', 'unsupported_endpoint'),
    badRequest: openaiShape('invalid_request_error', 'invalid_request'),
    listsFree: 'Free (no model runs): GET /openai/v1/models, GET /openai/v1/models/{model}.',
  };
  routes['google-vertex'] = {
    prefix: `${vertex.harness.gateway.url}/proxy/google-vertex`,
    headers: { 'x-goog-api-key': vertex.key },
    upstreamRequests: () => vertex.google.requests,
    notFound: (message) => ({ error: { code: 404, message, status: 'NOT_FOUND' } }),
    badRequest: (message) => ({ error: { code: 400, message, status: 'INVALID_ARGUMENT' } }),
    listsFree: 'POST …/models/{model}:countTokens, POST …/models/{model}:computeTokens, GET /v1/publishers/{publisher}/models',
  };
  routes['bedrock'] = {
    prefix: `${bedrock.gateway.url}/proxy/bedrock`,
    headers: { authorization: `Bearer ${bedrockKey.key}` },
    upstreamRequests: () => bedrock.upstream.requests,
    notFound: (message) => ({ message, __type: 'ResourceNotFoundException' }),
    badRequest: (message) => ({ message, __type: 'ValidationException' }),
    listsFree: 'Free (no model runs): POST /model/{modelId}/count-tokens, POST /v1/messages/count_tokens.',
  };
});

afterAll(async () => {
  await Promise.all([openai?.close(), anthropic?.close(), groq?.close(), vertex?.close(), bedrock?.close()]);
});

function route(name: string): RouteUnderTest {
  const found = routes[name];
  if (!found) throw new Error(`no route ${name}`);
  return found;
}

async function send(name: string, method: string, path: string, body?: string): Promise<RawResponse> {
  const { prefix, headers } = route(name);
  const url = new URL(prefix);
  const withBody = body === undefined ? headers : { ...headers, 'content-type': 'application/json' };
  return raw(url.origin, `${url.pathname}${path}`, method, withBody, body);
}

const SCOPE = 'projects/victim-project/locations/us-central1';

/**
 * Calls that run no model but read or change objects every gateway key shares under the one
 * provider credential: each was forwarded before, so any key could read another's files or
 * delete a fine-tuned model.
 */
const FORBIDDEN: readonly (readonly [string, string, string])[] = [
  ['openai', 'GET', '/files'],
  ['openai', 'GET', '/files/file-abc123/content'],
  ['openai', 'DELETE', '/files/file-abc123'],
  ['openai', 'GET', '/fine_tuning/jobs'],
  ['openai', 'DELETE', '/models/ft:gpt-4o-mini-2024-07-18:acme::x1'],
  ['openai', 'GET', '/chat/completions'],
  ['openai', 'GET', '/chat/completions/chatcmpl-abc123'],
  ['openai', 'GET', '/chat/completions/chatcmpl-abc123/messages'],
  ['openai', 'DELETE', '/chat/completions/chatcmpl-abc123'],
  ['openai', 'GET', '/responses/resp_abc123'],
  ['openai', 'GET', '/responses/resp_abc123/input_items'],
  ['openai', 'DELETE', '/responses/resp_abc123'],
  ['openai', 'GET', '/batches'],
  ['openai', 'GET', '/vector_stores'],
  ['openai', 'GET', '/assistants'],
  ['openai', 'GET', '/threads/thread_abc123'],
  ['openai', 'HEAD', '/files'],
  // A case variant of an allowed path is another path: OpenAI's are case-sensitive.
  ['openai', 'GET', '/Models'],
  ['anthropic', 'GET', '/v1/messages/batches'],
  ['anthropic', 'GET', '/v1/messages/batches/msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d/results'],
  ['anthropic', 'DELETE', '/v1/messages/batches/msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d'],
  ['anthropic', 'GET', '/v1/messages/batches?beta=true'],
  ['anthropic', 'GET', '/v1/files'],
  ['anthropic', 'GET', '/v1/files/file_011CNha8iCJcU1wXNR6q4V8w/content'],
  ['anthropic', 'DELETE', '/v1/files/file_011CNha8iCJcU1wXNR6q4V8w'],
  ['anthropic', 'GET', '/v1/messages'],
  ['groq', 'GET', '/openai/v1/files'],
  ['groq', 'GET', '/openai/v1/files/file_01jh6x76wtemjr74t1fh0faj5t/content'],
  ['groq', 'DELETE', '/openai/v1/files/file_01jh6x76wtemjr74t1fh0faj5t'],
  ['groq', 'GET', '/openai/v1/batches'],
  ['google-vertex', 'GET', `/v1/${SCOPE}/endpoints`],
  ['google-vertex', 'GET', `/v1/${SCOPE}/datasets`],
  ['google-vertex', 'GET', `/v1/${SCOPE}/batchPredictionJobs`],
  ['google-vertex', 'GET', `/v1/${SCOPE}/operations`],
  ['google-vertex', 'GET', `/v1/${SCOPE}/cachedContents`],
  ['google-vertex', 'DELETE', `/v1/${SCOPE}/cachedContents/4242`],
  ['google-vertex', 'GET', `/v1/${SCOPE}/models`],
  ['google-vertex', 'GET', `/v1beta1/${SCOPE}/tuningJobs`],
  ['google-vertex', 'GET', `/v1/${SCOPE}/publishers/google/models/gemini-2.5-flash`],
  ['google-vertex', 'DELETE', '/v1/publishers/google/models/gemini-2.5-flash'],
  ['bedrock', 'GET', '/async-invoke'],
  ['bedrock', 'GET', '/async-invoke/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aasync-invoke%2Fabc'],
];

describe('endpoints off the allow-list', () => {
  beforeEach(() => {
    for (const name of Object.keys(routes)) (route(name).upstreamRequests() as unknown[]).length = 0;
  });

  it.each(FORBIDDEN)('%s: %s %s → 404 in the API’s error shape, never forwarded', async (name, method, path) => {
    // WHEN
    const response = await send(name, method, path);

    // THEN the caller learns what the route does forward, and the upstream saw nothing
    expect(response.status).toBe(404);
    expect(response.headers['x-tollgate-error']).toBe('unsupported_endpoint');
    if (method !== 'HEAD') {
      expect(JSON.parse(response.body)).toEqual(route(name).notFound(expect.stringContaining(route(name).listsFree)));
      expect(response.body).toContain('Provider object stores (files, batches, fine-tuning, stored responses and completions) are refused');
    }
    expect(route(name).upstreamRequests()).toEqual([]);
  });
});

const GENERATE = 'publishers/google/models/gemini-2.5-flash:generateContent';

describe('Vertex paths that could be read two ways', () => {
  beforeEach(() => {
    vertex.google.requests.length = 0;
  });

  it.each([
    // An encoded slash: read as one segment here, as three by a decoding upstream.
    [`/v1/projects%2Fvictim-project%2Flocations%2Fus-central1/${GENERATE}`, 'encoded separator'],
    [`/v1/projects%2Fvictim-project/locations/us-central1/${GENERATE}`, 'encoded separator'],
    [`/v1/projects/victim-project/locations/us-central1%2F..%2F..%2Fv1/${GENERATE}`, 'encoded separators'],
    [`/v1/publishers%2Fgoogle/models/gemini-2.5-flash:generateContent`, 'encoded separator'],
    // Case variants of the words the rewrite looks for.
    [`/v1/PROJECTS/victim-project/locations/us-central1/${GENERATE}`, 'spells a fixed word'],
    [`/v1/Projects/victim-project/LOCATIONS/us-central1/${GENERATE}`, 'spells a fixed word'],
    ['/v1/PUBLISHERS/google/models/gemini-2.5-flash:generateContent', 'spells a fixed word'],
    ['/V1/publishers/google/models/gemini-2.5-flash:generateContent', 'spells a fixed word'],
    // Encoded letters in them.
    [`/v1/%70rojects/victim-project/locations/us-central1/${GENERATE}`, 'percent-encodes a letter'],
    [`/v1/projects/victim-project/%6Cocations/us-central1/${GENERATE}`, 'percent-encodes a letter'],
    ['/v1/publishers/google/models/gemini-2.5-flash%3AgenerateContent', 'encodes a ":"'],
  ])('POST %s → 400, never forwarded', async (path, reason) => {
    const response = await send('google-vertex', 'POST', path, '{"contents":[]}');

    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toEqual(route('google-vertex').badRequest(expect.stringContaining(reason)));
    expect(vertex.google.requests).toEqual([]);
  });

  it.each([
    ['?$userProject=victim-project', '$userProject'],
    ['?%24userProject=victim-project', '$userProject'],
    ['?alt=sse&userProject=victim-project', 'userProject'],
    ['?$ct=text%2Fplain', '$ct'],
    // A partial response can leave out the output counts: the output would go unbilled.
    ['?fields=candidates,usageMetadata.promptTokenCount', 'fields'],
    ['?alt=sse&%24fields=candidates', '$fields'],
  ])('refuses the Google system parameter in %s, which would bill or reshape another way', async (query, name) => {
    const response = await send('google-vertex', 'POST', `/v1/${GENERATE.replace('generateContent', 'countTokens')}${query}`, '{"contents":[]}');

    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toEqual(route('google-vertex').badRequest(expect.stringContaining(`"${name}"`)));
    expect(vertex.google.requests).toEqual([]);
  });

  it('never forwards a method override or a field mask, which would make an allowed POST another method or hide its usage', async () => {
    const response = await raw(
      vertex.harness.gateway.url,
      `/proxy/google-vertex/v1/${SCOPE}/publishers/google/models/gemini-2.5-flash:countTokens`,
      'POST',
      { 'x-goog-api-key': vertex.key, 'content-type': 'application/json', 'x-http-method-override': 'DELETE', 'x-goog-fieldmask': 'totalTokens' },
      '{"contents":[]}',
    );

    expect(response.status).toBe(200);
    expect(vertex.google.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      `POST /v1/projects/${PROJECT}/locations/${LOCATION}/publishers/google/models/gemini-2.5-flash:countTokens`,
    ]);
    expect(vertex.google.requests[0]?.headers['x-http-method-override']).toBeUndefined();
    // A field mask would cut the usage counts out of a generateContent response.
    expect(vertex.google.requests[0]?.headers['x-goog-fieldmask']).toBeUndefined();
  });
});

describe('encoded or case-variant spellings elsewhere', () => {
  beforeEach(() => {
    for (const name of Object.keys(routes)) (route(name).upstreamRequests() as unknown[]).length = 0;
  });

  it.each([
    // An encoded letter could make tollgate and the provider disagree on which endpoint this is.
    ['openai', 'POST', '/chat/%63ompletions', 400],
    ['openai', 'GET', '/%6Dodels', 400],
    ['openai', 'GET', '/models/gpt%2D4o', 400],
    // An id that decodes into a separator names another path upstream.
    ['openai', 'GET', '/models/x%2Ffiles', 400],
    ['openai', 'GET', '/models/x%3F', 400],
    ['anthropic', 'GET', '/v1/models/claude%2F..%2F..%2Fv1%2Ffiles', 400],
    ['anthropic', 'POST', '/V1/messages', 404],
    ['anthropic', 'POST', '/v1/Messages', 404],
    ['groq', 'GET', '/openai/v1/models/openai%2F%2Ffiles', 400],
    ['groq', 'POST', '/OpenAI/v1/chat/completions', 404],
    ['bedrock', 'POST', '/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/CONVERSE', 404],
    ['bedrock', 'POST', '/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/%63onverse', 400],
    ['bedrock', 'POST', '/Model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse', 404],
  ])('%s: %s %s → %i, never forwarded', async (name, method, path, status) => {
    const response = await send(name, method, path, method === 'POST' ? '{}' : undefined);

    expect(response.status).toBe(status);
    expect(route(name).upstreamRequests()).toEqual([]);
  });

  it.each(['/proxy/OpenAI/models', '/proxy/open%61i/models', '/PROXY/openai/models', '/proxy//openai/models'])('refuses the route name spelled %s', async (target) => {
    const response = await raw(openai.gateway.url, target, 'GET', route('openai').headers);

    expect([400, 404]).toContain(response.status);
    expect(openai.upstream.requests).toEqual([]);
  });
});

describe('the free calls on the allow-list, through the official SDKs', () => {
  beforeEach(() => {
    for (const name of Object.keys(routes)) (route(name).upstreamRequests() as unknown[]).length = 0;
  });

  it('OpenAI: retrieves a model and counts a response’s input tokens, unmetered', async () => {
    const client = new OpenAI({ apiKey: route('openai').headers['authorization']?.slice('Bearer '.length), baseURL: route('openai').prefix, maxRetries: 0 });

    const model = await client.models.retrieve('ft:gpt-4o-mini-2024-07-18:acme::x1');
    const counted = await client.responses.inputTokens.count({ model: 'gpt-4o', input: 'How many tokens is this?' });

    expect(model.id).toBe('ft:gpt-4o-mini-2024-07-18:acme::x1');
    expect(counted.input_tokens).toBe(11);
    expect(openai.upstream.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /v1/models/ft:gpt-4o-mini-2024-07-18:acme::x1',
      'POST /v1/responses/input_tokens',
    ]);
    expect(await openai.store.getSpend()).toEqual([]);
  });

  it('Anthropic: retrieves a model and counts tokens, unmetered', async () => {
    const client = new Anthropic({ apiKey: route('anthropic').headers['x-api-key'], baseURL: route('anthropic').prefix, maxRetries: 0 });

    const model = await client.models.retrieve('claude-sonnet-4-20250514');
    const counted = await client.messages.countTokens({ model: 'claude-sonnet-4-20250514', messages: [{ role: 'user', content: 'Hi' }] });

    expect(model.id).toBe('claude-sonnet-4-20250514');
    expect(counted.input_tokens).toBeGreaterThan(0);
    expect(anthropic.upstream.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /v1/models/claude-sonnet-4-20250514',
      'POST /v1/messages/count_tokens',
    ]);
    expect(await anthropic.harness.store.getSpend()).toEqual([]);
  });

  it('Groq: retrieves a model whose id holds a slash, sent encoded as groq-sdk does', async () => {
    const client = new Groq({ apiKey: route('groq').headers['authorization']?.slice('Bearer '.length), baseURL: route('groq').prefix, maxRetries: 0 });

    const model = await client.models.retrieve('openai/gpt-oss-120b');

    expect(model.id).toBe('openai/gpt-oss-120b');
    expect(groq.upstream.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /openai/v1/models/openai%2Fgpt-oss-120b']);
    expect(await groq.harness.store.getSpend()).toEqual([]);
  });

  it('Vertex: lists and gets base models, and computes tokens in the configured project, unmetered', async () => {
    const ai = new GoogleGenAI({
      vertexai: true,
      project: 'callers-own-project',
      location: 'us-east1',
      apiKey: vertex.key,
      httpOptions: { baseUrl: route('google-vertex').prefix },
    });

    const model = await ai.models.get({ model: 'gemini-2.5-flash' });
    const pager = await ai.models.list({ config: { pageSize: 10 } });
    const computed = await ai.models.computeTokens({ model: 'gemini-2.5-flash', contents: 'Hi' });

    expect(model.name).toBe('publishers/google/models/gemini-2.5-flash');
    expect(pager.page.map((m) => m.name)).toEqual(['publishers/google/models/gemini-2.5-flash']);
    expect(computed.tokensInfo?.[0]?.tokenIds).toEqual(['8302']);
    expect(vertex.google.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /v1beta1/publishers/google/models/gemini-2.5-flash',
      'GET /v1beta1/publishers/google/models?pageSize=10',
      `POST /v1beta1/projects/${PROJECT}/locations/${LOCATION}/publishers/google/models/gemini-2.5-flash:computeTokens`,
    ]);
    expect(await vertex.harness.store.getSpend()).toEqual([]);
  });
});
