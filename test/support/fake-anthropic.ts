import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { splitEvents } from './fake-openai';
import { startRecordingServer, type SeenRequest } from './recording-server';
import { startProviderGateway, type ProviderGateway } from './harness';

export const ANTHROPIC_UPSTREAM_KEY = 'sk-ant-api03-upstream-test-credential';

export function anthropicFixture(name: string): Buffer {
  return readFileSync(join(__dirname, '..', 'fixtures', 'anthropic', name));
}

/** How the next responses misbehave; every field resets with `reset()`. */
export interface FakeAnthropicBehaviour {
  /** Compress responses when the client accepts gzip. */
  gzip?: boolean;
  /** Stream this recording instead of `message-stream.sse`. */
  streamRecording?: string;
  /** Answer every authenticated request with this status and body instead of a recording. */
  error?: { status: number; body: string };
  /** Change the recorded response before it is sent (another service tier, say). */
  rewrite?: (recorded: string) => string;
}

export interface FakeAnthropic {
  /** `http://127.0.0.1:<port>`, like `https://api.anthropic.com`: paths start with `/v1`. */
  readonly baseUrl: string;
  readonly requests: SeenRequest[];
  behaviour: FakeAnthropicBehaviour;
  reset(): void;
  close(): Promise<void>;
}

const REQUEST_ID = 'req_011CSHoEeqs5C35K2UUqR7Fy';

/**
 * Anthropic on loopback, replaying recorded bodies. Like the real API it refuses any
 * `x-api-key` but the provider key, and a request without `anthropic-version`.
 */
export async function startFakeAnthropic(): Promise<FakeAnthropic> {
  const server = await startRecordingServer((seen, res) => respond(seen, res, fake.behaviour));
  const fake: FakeAnthropic = {
    baseUrl: server.origin,
    requests: server.requests,
    behaviour: {},
    reset() {
      server.requests.length = 0;
      fake.behaviour = {};
    },
    close: () => server.close(),
  };
  return fake;
}

async function respond(req: SeenRequest, res: ServerResponse, behaviour: FakeAnthropicBehaviour): Promise<void> {
  if (req.headers['x-api-key'] !== ANTHROPIC_UPSTREAM_KEY) return sendError(res, 401, 'authentication_error', 'invalid x-api-key');
  if (req.headers['anthropic-version'] === undefined) return sendError(res, 400, 'invalid_request_error', 'anthropic-version: header is required');
  if (behaviour.error) return send(res, behaviour.error.status, 'application/json', Buffer.from(behaviour.error.body));

  const path = req.url.split('?')[0];
  const gzip = behaviour.gzip === true && String(req.headers['accept-encoding'] ?? '').includes('gzip');
  if (req.method === 'GET' && path === '/v1/models') return sendJson(res, anthropicFixture('models.json'), gzip);
  if (req.method === 'GET' && path?.startsWith('/v1/models/')) {
    const id = decodeURIComponent(path.slice('/v1/models/'.length));
    return sendJson(res, Buffer.from(JSON.stringify({ type: 'model', id, display_name: id, created_at: '2025-05-22T00:00:00Z' })), gzip);
  }
  if (req.method === 'POST' && path === '/v1/messages/count_tokens') return sendJson(res, anthropicFixture('count-tokens.json'), gzip);
  if (req.method !== 'POST' || path !== '/v1/messages') return sendError(res, 404, 'not_found_error', `${req.method} ${path} not found`);

  const body = JSON.parse(req.body.toString('utf8')) as Record<string, unknown>;
  const recorded = (bytes: Buffer) => (behaviour.rewrite ? Buffer.from(behaviour.rewrite(bytes.toString('utf8'))) : bytes);
  if (body['stream'] !== true) return sendJson(res, recorded(anthropicFixture('message.json')), gzip);
  await sendStream(res, recorded(anthropicFixture(behaviour.streamRecording ?? 'message-stream.sse')), gzip);
}

function sendJson(res: ServerResponse, bytes: Buffer, gzip: boolean): void {
  if (gzip) return send(res, 200, 'application/json', gzipSync(bytes), { 'content-encoding': 'gzip' });
  send(res, 200, 'application/json', bytes);
}

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  send(res, status, 'application/json', Buffer.from(JSON.stringify({ type: 'error', error: { type, message }, request_id: REQUEST_ID })));
}

function send(res: ServerResponse, status: number, type: string, body: Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': String(body.length), 'request-id': REQUEST_ID, ...extra });
  res.end(body);
}

/** One SSE event per write, as the real API sends them, so the gateway sees many chunks. */
async function sendStream(res: ServerResponse, bytes: Buffer, gzip: boolean): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'request-id': REQUEST_ID, ...(gzip && { 'content-encoding': 'gzip' }) });
  for (const chunk of gzip ? [gzipSync(bytes)] : splitEvents(bytes)) await new Promise((resolve) => res.write(chunk, resolve));
  res.end();
}

export type AnthropicGateway = ProviderGateway<FakeAnthropic>;

/** A gateway on an in-memory store whose Anthropic provider is the fake, with the provider key in its environment. */
export async function startAnthropicGateway(): Promise<AnthropicGateway> {
  return startProviderGateway('anthropic', await startFakeAnthropic(), { ANTHROPIC_API_KEY: ANTHROPIC_UPSTREAM_KEY });
}
