import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { splitAfter } from './fake-google';
import { startRecordingServer, type SeenRequest } from './recording-server';

export const GEMINI_UPSTREAM_KEY = 'AIzaSy-upstream-test-credential-0000000';

export function glaFixture(name: string): Buffer {
  return readFileSync(join(__dirname, '..', 'fixtures', 'google-gla', name));
}

export interface FakeGeminiApi {
  /** `http://127.0.0.1:<port>`, like `https://generativelanguage.googleapis.com`. */
  readonly baseUrl: string;
  readonly requests: SeenRequest[];
  /** The `x-gemini-service-tier` header generateContent answers with (the tier that ran), if any. */
  serviceTier: string | undefined;
  reset(): void;
  close(): Promise<void>;
}

const ACTION_PATH = /^\/(v1|v1beta)\/models\/([^/:]+):([A-Za-z]+)$/;

/**
 * The Gemini Developer API on loopback: it accepts only its API key, in `x-goog-api-key`, and
 * only its own paths (a Vertex path is a 404 here, as it is at Google). Replays recordings.
 */
export async function startFakeGeminiApi(): Promise<FakeGeminiApi> {
  let serviceTier: string | undefined;
  const server = await startRecordingServer((seen, res) => respond(seen, res, serviceTier));
  return {
    baseUrl: server.origin,
    requests: server.requests,
    get serviceTier() {
      return serviceTier;
    },
    set serviceTier(tier) {
      serviceTier = tier;
    },
    reset() {
      server.requests.length = 0;
      serviceTier = undefined;
    },
    close: () => server.close(),
  };
}

async function respond(req: SeenRequest, res: ServerResponse, serviceTier: string | undefined): Promise<void> {
  if (req.headers['x-goog-api-key'] !== GEMINI_UPSTREAM_KEY) {
    return json(res, 400, { error: { code: 400, message: 'API key not valid. Please pass a valid API key.', status: 'INVALID_ARGUMENT' } });
  }
  const [path = '', query = ''] = req.url.split('?');
  if (req.method === 'GET' && /^\/(v1|v1beta)\/models$/.test(path)) {
    return json(res, 200, { models: [{ name: 'models/gemini-2.5-flash', displayName: 'Gemini 2.5 Flash' }] });
  }
  const match = ACTION_PATH.exec(path);
  if (req.method !== 'POST' || !match) return json(res, 404, { error: { code: 404, message: `Not found: ${path}`, status: 'NOT_FOUND' } });
  switch (match[3]) {
    case 'generateContent':
      return send(res, 'application/json; charset=UTF-8', [glaFixture('generate-content.json')], serviceTier);
    case 'countTokens':
      return send(res, 'application/json; charset=UTF-8', [glaFixture('count-tokens.json')]);
    case 'streamGenerateContent': {
      const events = splitAfter(glaFixture('stream.sse'), '\r\n\r\n');
      if (new URLSearchParams(query).get('alt') === 'sse') return send(res, 'text/event-stream', events);
      // Without `alt=sse` the API streams a JSON array, element by element.
      const elements = events.map((event) => event.toString('utf8').replace(/^data: /, '').trim());
      return send(res, 'application/json; charset=UTF-8', elements.map((element, at) => Buffer.from(`${at === 0 ? '[' : ',\r\n'}${element}${at === elements.length - 1 ? ']' : ''}`)));
    }
    default:
      return json(res, 404, { error: { code: 404, message: `Unknown action ${match[3]}`, status: 'NOT_FOUND' } });
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': String(bytes.length) });
  res.end(bytes);
}

/** One write per piece, as Google flushes them, so the gateway sees many chunks. */
async function send(res: ServerResponse, contentType: string, pieces: Buffer[], serviceTier?: string): Promise<void> {
  res.writeHead(200, { 'content-type': contentType, ...(serviceTier !== undefined && { 'x-gemini-service-tier': serviceTier }) });
  for (const piece of pieces) await new Promise((resolve) => res.write(piece, resolve));
  res.end();
}
