import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { splitEvents } from './fake-openai';
import { startRecordingServer, type SeenRequest } from './recording-server';

/** What one path answers: a whole document, and the SSE stream a `"stream": true` body gets. */
export interface ChatRecording {
  readonly json: Buffer;
  readonly sse?: Buffer;
}

/**
 * How the upstream treats `stream_options`: `honoured` (OpenAI, Azure, Anthropic's compatibility
 * layer, vLLM) streams the usage chunk only when `include_usage` asks for it; `refused` (Mistral)
 * answers 422 to the field and streams usage unasked.
 */
export type StreamOptionsSupport = 'honoured' | 'refused';

export interface FakeChatUpstreamOptions {
  /** Whether a request carries the provider's credential; anything else gets a 401, as the real API would. */
  readonly authorized: (headers: IncomingHttpHeaders) => boolean;
  /** `POST /path` or `GET /path` (no query) → what it answers. Any other request gets a 404. */
  readonly routes: Readonly<Record<string, ChatRecording>>;
  /** A 400 message for a query this path must not get, or undefined. */
  readonly checkQuery?: (path: string, query: URLSearchParams) => string | undefined;
  readonly streamOptions?: StreamOptionsSupport;
}

export interface FakeChatUpstream {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly requests: SeenRequest[];
  reset(): void;
  close(): Promise<void>;
}

/**
 * An OpenAI-shaped API on loopback (Anthropic's compatibility layer, Azure OpenAI, any
 * OpenAI-compatible server), replaying recordings and checking what it receives.
 */
export async function startFakeChatUpstream(options: FakeChatUpstreamOptions): Promise<FakeChatUpstream> {
  const server = await startRecordingServer((seen, res) => respond(seen, res, options));
  return {
    origin: server.origin,
    requests: server.requests,
    reset() {
      server.requests.length = 0;
    },
    close: () => server.close(),
  };
}

async function respond(req: SeenRequest, res: ServerResponse, options: FakeChatUpstreamOptions): Promise<void> {
  if (!options.authorized(req.headers)) return json(res, 401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } });
  const [path = '', query = ''] = req.url.split('?');
  const refusal = options.checkQuery?.(path, new URLSearchParams(query));
  if (refusal !== undefined) return json(res, 400, { error: { message: refusal, type: 'invalid_request_error', code: 'BadRequest' } });
  const recording = options.routes[`${req.method} ${path}`];
  if (!recording) return json(res, 404, { error: { message: `${req.method} ${path} not found`, type: 'invalid_request_error', code: '404' } });

  const body = req.body.length > 0 ? (JSON.parse(req.body.toString('utf8')) as Record<string, unknown>) : {};
  const streamOptions = body['stream_options'] as Record<string, unknown> | undefined;
  if (options.streamOptions === 'refused' && streamOptions !== undefined) {
    return json(res, 422, { object: 'error', message: 'Extra inputs are not permitted: stream_options', type: 'invalid_request_message_error', code: null });
  }
  if (body['stream'] !== true || recording.sse === undefined) return send(res, 200, 'application/json', recording.json);

  const asked = options.streamOptions === 'refused' || streamOptions?.['include_usage'] === true;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
  for (const event of splitEvents(recording.sse)) {
    if (!asked && event.includes('"usage":{')) continue;
    await new Promise((resolve) => res.write(event, resolve));
  }
  res.end();
}

function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json', Buffer.from(JSON.stringify(body)));
}

function send(res: ServerResponse, status: number, type: string, body: Buffer): void {
  res.writeHead(status, { 'content-type': type, 'content-length': String(body.length) });
  res.end(body);
}
