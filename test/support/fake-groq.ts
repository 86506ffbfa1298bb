import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { splitEvents } from './fake-openai';
import { startRecordingServer, type SeenRequest } from './recording-server';
import { startProviderGateway, type ProviderGateway } from './harness';

export const GROQ_UPSTREAM_KEY = 'gsk_upstream_test_credential';

export function groqFixture(name: string): Buffer {
  return readFileSync(join(__dirname, '..', 'fixtures', 'groq', name));
}

export interface FakeGroq {
  /** `http://127.0.0.1:<port>`, like `https://api.groq.com`: paths start with `/openai/v1`. */
  readonly baseUrl: string;
  readonly requests: SeenRequest[];
  /** Answer every authenticated request with this status and body instead of a recording. */
  error: { status: number; body: string } | undefined;
  close(): Promise<void>;
}

/** Recordings by model, as Groq would answer for each. */
const RECORDINGS: Readonly<Record<string, { json: string; stream: string }>> = {
  'llama-3.3-70b-versatile': { json: 'chat.json', stream: 'chat-stream.sse' },
  'openai/gpt-oss-120b': { json: 'chat-cached.json', stream: 'chat-stream-usage.sse' },
};

const MODELS = '{"object":"list","data":[{"id":"llama-3.3-70b-versatile","object":"model","created":1733447754,"owned_by":"Meta","active":true,"context_window":131072,"public_apps":null,"max_completion_tokens":32768}]}';

/** Groq on loopback, replaying recorded bodies. Like the real API it refuses any bearer token but the provider key. */
export async function startFakeGroq(): Promise<FakeGroq> {
  const server = await startRecordingServer((seen, res) => respond(seen, res, fake.error));
  const fake: FakeGroq = {
    baseUrl: server.origin,
    requests: server.requests,
    error: undefined,
    close: () => server.close(),
  };
  return fake;
}

async function respond(req: SeenRequest, res: ServerResponse, error: FakeGroq['error']): Promise<void> {
  if (req.headers.authorization !== `Bearer ${GROQ_UPSTREAM_KEY}`) return sendError(res, 401, 'Invalid API Key', 'invalid_api_key');
  if (error) return send(res, error.status, 'application/json', Buffer.from(error.body));
  const path = req.url.split('?')[0];
  if (req.method === 'GET' && path === '/openai/v1/models') return send(res, 200, 'application/json', Buffer.from(MODELS));
  if (req.method === 'GET' && path?.startsWith('/openai/v1/models/')) {
    // One segment, `/` sent as `%2F`, as groq-sdk encodes `openai/gpt-oss-120b`.
    const id = decodeURIComponent(path.slice('/openai/v1/models/'.length));
    return send(res, 200, 'application/json', Buffer.from(JSON.stringify({ id, object: 'model', created: 1754408224, owned_by: 'OpenAI', active: true })));
  }
  if (req.method !== 'POST' || path !== '/openai/v1/chat/completions') return sendError(res, 404, 'Unknown request URL', 'unknown_url');

  const body = JSON.parse(req.body.toString('utf8')) as Record<string, unknown>;
  const recording = RECORDINGS[String(body['model'])];
  if (!recording) return sendError(res, 404, `The model \`${String(body['model'])}\` does not exist or you do not have access to it.`, 'model_not_found');
  if (body['stream'] !== true) return send(res, 200, 'application/json', groqFixture(recording.json));
  res.writeHead(200, { 'content-type': 'text/event-stream', 'x-request-id': 'req_01kfk38ha1ey6bw3b68mcaeddg' });
  for (const chunk of splitEvents(groqFixture(recording.stream))) await new Promise((resolve) => res.write(chunk, resolve));
  res.end();
}

function sendError(res: ServerResponse, status: number, message: string, code: string): void {
  send(res, status, 'application/json', Buffer.from(JSON.stringify({ error: { message, type: 'invalid_request_error', code } })));
}

function send(res: ServerResponse, status: number, type: string, body: Buffer): void {
  res.writeHead(status, { 'content-type': type, 'content-length': String(body.length), 'x-request-id': 'req_01kfk38ha1ey6bw3b68mcaeddg' });
  res.end(body);
}

export type GroqGateway = ProviderGateway<FakeGroq>;

/** A gateway on an in-memory store whose Groq provider is the fake, with the provider key in its environment. */
export async function startGroqGateway(): Promise<GroqGateway> {
  return startProviderGateway('groq', await startFakeGroq(), { GROQ_API_KEY: GROQ_UPSTREAM_KEY });
}
