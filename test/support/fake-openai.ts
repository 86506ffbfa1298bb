import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startRecordingServer, type SeenRequest } from './recording-server';

export const UPSTREAM_KEY = 'sk-upstream-test-credential';

export function fixture(name: string): Buffer {
  return readFileSync(join(__dirname, '..', 'fixtures', 'openai', name));
}

export type { SeenRequest } from './recording-server';

/** How the next responses misbehave; every field resets with `reset()`. */
export interface FakeBehaviour {
  /** Send the first stream chunk, wait this long, then send the rest. */
  pauseAfterFirstChunkMs?: number;
  /** Send the first stream chunk, then the rest only once this settles. */
  holdAfterFirstChunk?: Promise<void>;
  /** Compress responses when the client accepts gzip. */
  gzip?: boolean;
  /** Destroy the socket after this many stream chunks. */
  cutStreamAfterChunks?: number;
  /** With `cutStreamAfterChunks`: send the first half of the next event before the cut, so the stream breaks inside an event. */
  cutMidEvent?: boolean;
  /** Replace the model named in the recording, as a fine-tune's response would name itself. */
  respondAsModel?: string;
  /** Hold every response until this settles, so a test can have many requests in flight at once. */
  hold?: Promise<void>;
  /** Answer every request with this status and body instead of a recording. */
  error?: { status: number; body: string };
  /** Change the recorded response before it is sent (an upstream reporting odd usage). */
  rewrite?: (recorded: string) => string;
  /** Answer every authorised request by writing this response by hand (an upstream that misbehaves at the byte level). */
  raw?: (res: ServerResponse, request: SeenRequest) => void | Promise<void>;
}

export interface FakeOpenAI {
  /** `http://127.0.0.1:<port>/v1` */
  readonly baseUrl: string;
  readonly requests: SeenRequest[];
  behaviour: FakeBehaviour;
  reset(): void;
  close(): Promise<void>;
}

/**
 * OpenAI on loopback, replaying recorded bodies. It refuses any credential but the provider key,
 * as the real API would, so a test that forwards the wrong one fails.
 */
export async function startFakeOpenAI(options: { readonly key?: string } = {}): Promise<FakeOpenAI> {
  const key = options.key ?? UPSTREAM_KEY;
  const server = await startRecordingServer((seen, res) => respond(seen, res, fake.behaviour, key));
  const fake: FakeOpenAI = {
    baseUrl: `${server.origin}/v1`,
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

async function respond(req: SeenRequest, res: ServerResponse, behaviour: FakeBehaviour, key: string): Promise<void> {
  if (behaviour.hold) await behaviour.hold;
  if (req.headers.authorization !== `Bearer ${key}`) {
    return send(res, 401, 'application/json', Buffer.from('{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}'));
  }
  if (behaviour.error) return send(res, behaviour.error.status, 'application/json', Buffer.from(behaviour.error.body));
  if (behaviour.raw) return behaviour.raw(res, req);

  const body = req.body.length > 0 ? (JSON.parse(req.body.toString('utf8')) as Record<string, unknown>) : {};
  const path = req.url.split('?')[0];
  const accepted = String(req.headers['accept-encoding'] ?? '');
  const gzip = behaviour.gzip === true && accepted.includes('gzip');

  if (req.method === 'GET' && path === '/v1/models') {
    return send(res, 200, 'application/json', Buffer.from('{"object":"list","data":[{"id":"gpt-4o","object":"model","created":1715367049,"owned_by":"system"}]}'));
  }
  if (req.method === 'GET' && path?.startsWith('/v1/models/')) {
    const id = decodeURIComponent(path.slice('/v1/models/'.length));
    return send(res, 200, 'application/json', Buffer.from(JSON.stringify({ id, object: 'model', created: 1715367049, owned_by: 'system' })));
  }
  if (req.method === 'POST' && path === '/v1/responses/input_tokens') {
    return send(res, 200, 'application/json', Buffer.from('{"object":"response.input_tokens","input_tokens":11}'));
  }
  if (req.method !== 'POST') return send(res, 404, 'application/json', Buffer.from('{"error":{"message":"not found","type":"invalid_request_error"}}'));
  const streamed = body['stream'] === true;
  const recordings: Record<string, string> = {
    '/v1/chat/completions': streamed ? 'chat-stream.sse' : 'chat.json',
    '/v1/responses': streamed ? 'responses-stream.sse' : 'responses.json',
    '/v1/embeddings': 'embeddings.json',
  };
  const recording = path && recordings[path];
  if (!recording) return send(res, 404, 'application/json', Buffer.from('{"error":{"message":"not found","type":"invalid_request_error"}}'));
  const recorded = fixture(recording);
  let bytes = behaviour.respondAsModel ? Buffer.from(recorded.toString('utf8').replaceAll('gpt-4o-2024-08-06', behaviour.respondAsModel)) : recorded;
  if (behaviour.rewrite) bytes = Buffer.from(behaviour.rewrite(bytes.toString('utf8')));
  if (!streamed) {
    return gzip ? send(res, 200, 'application/json', gzipSync(bytes), { 'content-encoding': 'gzip' }) : send(res, 200, 'application/json', bytes);
  }
  await sendStream(res, bytes, gzip, behaviour);
}

function send(res: ServerResponse, status: number, type: string, body: Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': String(body.length), 'x-request-id': 'req_fake123', ...extra });
  res.end(body);
}

/** Sends one SSE event per write, as the real API does, so the gateway sees many chunks. */
async function sendStream(res: ServerResponse, bytes: Buffer, gzip: boolean, behaviour: FakeBehaviour): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'x-request-id': 'req_fake123', ...(gzip && { 'content-encoding': 'gzip' }) });
  const events = splitEvents(bytes);
  const payload = gzip ? [gzipSync(bytes)] : events;
  for (const [index, chunk] of payload.entries()) {
    if (behaviour.cutStreamAfterChunks !== undefined && index >= behaviour.cutStreamAfterChunks) {
      if (behaviour.cutMidEvent) await new Promise((resolve) => res.write(chunk.subarray(0, chunk.length >> 1), resolve));
      // Let what was written reach the gateway first, or the cut would land before the headers.
      await new Promise((resolve) => setTimeout(resolve, 50));
      res.socket?.destroy();
      return;
    }
    await new Promise((resolve) => res.write(chunk, resolve));
    if (index === 0 && behaviour.pauseAfterFirstChunkMs) await new Promise((resolve) => setTimeout(resolve, behaviour.pauseAfterFirstChunkMs));
    if (index === 0 && behaviour.holdAfterFirstChunk) await behaviour.holdAfterFirstChunk;
  }
  res.end();
}

export function splitEvents(bytes: Buffer): Buffer[] {
  const events: Buffer[] = [];
  let start = 0;
  for (let at = bytes.indexOf('\n\n'); at !== -1; at = bytes.indexOf('\n\n', start)) {
    events.push(bytes.subarray(start, at + 2));
    start = at + 2;
  }
  if (start < bytes.length) events.push(bytes.subarray(start));
  return events;
}
