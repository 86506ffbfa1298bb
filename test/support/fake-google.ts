import { randomUUID } from 'node:crypto';
import { generateKeyPairSync, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { anthropicFixture } from './fake-anthropic';

export const PROJECT = 'tollgate-test';
export const LOCATION = 'europe-west4';
export const CLIENT_EMAIL = 'tollgate@tollgate-test.iam.gserviceaccount.com';
export const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

export function vertexFixture(name: string): Buffer {
  return readFileSync(join(__dirname, '..', 'fixtures', 'google-vertex', name));
}

/** A service account whose public key the fake token endpoint knows, like Google knows a real one's. */
export interface ServiceAccountPair {
  /** The whole key file, as the gateway's credential. */
  readonly json: string;
  readonly publicKeyPem: string;
}

export function createServiceAccount(overrides: Record<string, string> = {}): ServiceAccountPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const json = JSON.stringify({
    type: 'service_account',
    project_id: PROJECT,
    private_key_id: 'f3c1a2b4d5e6f708192a3b4c5d6e7f8091a2b3c4',
    private_key: privateKey,
    client_email: CLIENT_EMAIL,
    client_id: '104857600000000000001',
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: 'https://oauth2.googleapis.com/token',
    ...overrides,
  });
  return { json, publicKeyPem: publicKey };
}

export interface Mint {
  readonly token: string;
  readonly claims: Record<string, unknown>;
  readonly header: Record<string, unknown>;
}

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface FakeGoogle {
  /** `http://127.0.0.1:<port>`: the Vertex API. */
  readonly baseUrl: string;
  /** `http://127.0.0.1:<port>/token/<uuid>`: the OAuth token endpoint, on its own server. */
  readonly tokenUrl: string;
  readonly requests: SeenRequest[];
  /** Every successful mint, in order. */
  readonly mints: Mint[];
  /** Every refused assertion, with the reason. */
  readonly refusals: string[];
  /** `expires_in` of the next tokens. @default 3599 */
  tokenLifetimeSeconds: number;
  /** Delay before the token endpoint answers, so concurrent requests overlap one mint. */
  tokenDelayMs: number;
  /** Send the first stream chunk, wait this long, then send the rest. */
  pauseAfterFirstChunkMs: number;
  /** Send the first stream chunk, then the rest only once this settles. */
  holdAfterFirstChunk: Promise<void> | undefined;
  /** The chunks of a streamed JSON array (no `alt=sse`) to send instead of the recording. */
  arrayStreamChunks: Buffer[] | undefined;
  /** The `usageMetadata.trafficType` Gemini's recorded answers report instead of the recording's `ON_DEMAND`. */
  trafficType: string | undefined;
  /** The model Claude's recorded answers report instead of the recording's own. */
  claudeModel: string | undefined;
  /** Refuse Claude's rawPredict and streamRawPredict with this status and JSON body (Vertex's own refusals are Google-shaped). */
  claudeRefusal: { readonly status: number; readonly body: unknown; readonly gzip?: boolean } | undefined;
  /** The instant the token endpoint checks `iat` against. */
  now: () => Date;
  close(): Promise<void>;
}

/**
 * Google on loopback: an OAuth token endpoint that verifies each JWT's RS256 signature with the
 * service account's public key and its claims, and a Vertex API that accepts only a token it
 * minted and only paths in the configured project and location. Replays recorded bodies: Gemini's,
 * and Anthropic's for Claude's `rawPredict` and `streamRawPredict`.
 */
export async function startFakeGoogle(account: Pick<ServiceAccountPair, 'publicKeyPem'>): Promise<FakeGoogle> {
  const issued = new Map<string, number>();
  const fake: FakeGoogle = {
    baseUrl: '',
    tokenUrl: '',
    requests: [],
    mints: [],
    refusals: [],
    tokenLifetimeSeconds: 3599,
    tokenDelayMs: 0,
    pauseAfterFirstChunkMs: 0,
    holdAfterFirstChunk: undefined,
    arrayStreamChunks: undefined,
    trafficType: undefined,
    claudeModel: undefined,
    claudeRefusal: undefined,
    now: () => new Date(),
    close: async () => {
      await Promise.all([stop(tokenServer), stop(vertexServer)]);
    },
  };

  // A path of its own: the gateway caches tokens per credential and token URL for the process, and
  // a later fake on a reused port must not be handed a token this one minted.
  const tokenPath = `/token/${randomUUID()}`;
  const tokenServer = createServer((req, res) => {
    void collect(req).then(async (body) => {
      if (req.method !== 'POST' || req.url !== tokenPath) return json(res, 404, { error: 'not_found' });
      if (!String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
        return json(res, 400, { error: 'invalid_request', error_description: 'Expected a form-encoded body.' });
      }
      const form = new URLSearchParams(body.toString('utf8'));
      const refusal = checkAssertion(form, account.publicKeyPem, fake.tokenUrl, fake.now());
      if (typeof refusal === 'string') {
        fake.refusals.push(refusal);
        return json(res, 400, { error: 'invalid_grant', error_description: refusal });
      }
      if (fake.tokenDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, fake.tokenDelayMs));
      const token = `ya29.fake-access-token-${fake.mints.length + 1}`;
      issued.set(token, Date.now() + fake.tokenLifetimeSeconds * 1000);
      fake.mints.push({ token, ...refusal });
      json(res, 200, { access_token: token, expires_in: fake.tokenLifetimeSeconds, token_type: 'Bearer' });
    });
  });

  const vertexServer = createServer((req, res) => {
    void collect(req).then(async (body) => {
      const seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      fake.requests.push(seen);
      await respondVertex(seen, res, issued, fake);
    });
  });

  const tokenPort = await listen(tokenServer);
  const vertexPort = await listen(vertexServer);
  Object.assign(fake, { baseUrl: `http://127.0.0.1:${vertexPort}`, tokenUrl: `http://127.0.0.1:${tokenPort}${tokenPath}` });
  return fake;
}

type Verified = Omit<Mint, 'token'>;

function checkAssertion(form: URLSearchParams, publicKeyPem: string, tokenUrl: string, now: Date): Verified | string {
  if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return 'Unsupported grant type.';
  const parts = (form.get('assertion') ?? '').split('.');
  if (parts.length !== 3) return 'Invalid JWT: not three segments.';
  const [headerPart, claimsPart, signaturePart] = parts as [string, string, string];
  const header = decodeSegment(headerPart);
  const claims = decodeSegment(claimsPart);
  if (!header || !claims) return 'Invalid JWT: undecodable segment.';
  if (header['alg'] !== 'RS256') return `Invalid JWT: alg ${String(header['alg'])}.`;
  const signed = verify('sha256', Buffer.from(`${headerPart}.${claimsPart}`), publicKeyPem, Buffer.from(signaturePart, 'base64url'));
  if (!signed) return 'Invalid JWT Signature.';
  if (claims['iss'] !== CLIENT_EMAIL) return `Invalid issuer ${String(claims['iss'])}.`;
  if (claims['scope'] !== SCOPE) return `Invalid scope ${String(claims['scope'])}.`;
  if (claims['aud'] !== tokenUrl) return `Invalid audience ${String(claims['aud'])}.`;
  const iat = claims['iat'];
  const exp = claims['exp'];
  if (typeof iat !== 'number' || typeof exp !== 'number') return 'Invalid JWT: iat and exp must be numbers.';
  if (Math.abs(iat - now.getTime() / 1000) > 60) return 'Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.';
  if (exp - iat !== 3600) return `Invalid JWT: lifetime ${exp - iat}s.`;
  return { header, claims };
}

const MODEL_PATH = /^\/(v1|v1beta1)\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/google\/models\/([^/:]+):([A-Za-z]+)$/;

async function respondVertex(req: SeenRequest, res: ServerResponse, issued: ReadonlyMap<string, number>, fake: FakeGoogle): Promise<void> {
  const token = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
  const expiresAt = token === undefined ? undefined : issued.get(token);
  if (expiresAt === undefined || expiresAt < Date.now()) {
    return json(res, 401, {
      error: {
        code: 401,
        message: 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
        status: 'UNAUTHENTICATED',
      },
    });
  }
  const [path = '', query = ''] = req.url.split('?');
  if (req.method === 'GET' && /^\/(v1|v1beta1)\/publishers\/google\/models$/.test(path)) {
    return json(res, 200, { publisherModels: [{ name: 'publishers/google/models/gemini-2.5-flash' }] });
  }
  const baseModel = /^\/(?:v1|v1beta1)\/publishers\/google\/models\/([^/:]+)$/.exec(path)?.[1];
  if (req.method === 'GET' && baseModel !== undefined) {
    return json(res, 200, { name: `publishers/google/models/${baseModel}`, versionId: '001', launchStage: 'GA' });
  }
  const claude = CLAUDE_PATH.exec(path);
  if (req.method === 'POST' && claude) return respondClaude(req, res, claude, fake);
  const match = MODEL_PATH.exec(path);
  if (req.method !== 'POST' || !match) return json(res, 404, { error: { code: 404, message: `Not found: ${path}`, status: 'NOT_FOUND' } });
  const [, , project, location, , action] = match;
  if (project !== PROJECT || location !== LOCATION) {
    return json(res, 403, {
      error: { code: 403, message: `Permission denied on resource project ${project} (location ${location}).`, status: 'PERMISSION_DENIED' },
    });
  }
  const sse = new URLSearchParams(query).get('alt') === 'sse';
  switch (action) {
    case 'generateContent':
      return send(res, 200, 'application/json; charset=UTF-8', withTraffic(vertexFixture('generate-content.json'), fake.trafficType));
    case 'countTokens':
      return send(res, 200, 'application/json; charset=UTF-8', vertexFixture('count-tokens.json'));
    case 'computeTokens':
      return json(res, 200, { tokensInfo: [{ tokens: ['SGk='], tokenIds: ['8302'], role: 'user' }] });
    case 'streamGenerateContent':
      return sse
        ? stream(res, 'text/event-stream', splitAfter(withTraffic(vertexFixture('stream.sse'), fake.trafficType), '\r\n\r\n'), fake.pauseAfterFirstChunkMs, fake.holdAfterFirstChunk)
        : stream(res, 'application/json; charset=UTF-8', fake.arrayStreamChunks ?? splitAfter(vertexFixture('stream.json'), '\n,\r\n'), fake.pauseAfterFirstChunkMs, fake.holdAfterFirstChunk);
    default:
      return json(res, 404, { error: { code: 404, message: `Unknown action ${action}`, status: 'NOT_FOUND' } });
  }
}

const CLAUDE_PATH = /^\/(v1|v1beta1)\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/anthropic\/models\/([^/:]+):([A-Za-z]+)$/;

/**
 * Claude on Vertex, replaying recorded Anthropic bodies. Like Vertex it wants the model in the
 * path only, `anthropic_version` in the body, and the model in the body for `count-tokens`; its
 * refusals are Anthropic-shaped, as Vertex's Claude errors are.
 */
async function respondClaude(req: SeenRequest, res: ServerResponse, match: RegExpExecArray, fake: FakeGoogle): Promise<void> {
  const [, , project, location, model, action] = match;
  if (project !== PROJECT || location !== LOCATION) {
    return json(res, 403, {
      error: { code: 403, message: `Permission denied on resource project ${project} (location ${location}).`, status: 'PERMISSION_DENIED' },
    });
  }
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(req.body.toString('utf8')) as Record<string, unknown>;
  } catch {
    return claudeError(res, 'The request body is not valid JSON.');
  }
  if (model === 'count-tokens') {
    if (action !== 'rawPredict') return claudeError(res, `count-tokens serves rawPredict, not ${action}.`, 404);
    if (typeof body['model'] !== 'string') return claudeError(res, 'model: Field required');
    return send(res, 200, 'application/json', anthropicFixture('count-tokens.json'));
  }
  if (fake.claudeRefusal?.gzip === true) {
    // As Google sends its errors to a client that accepts gzip.
    const body = gzipSync(JSON.stringify(fake.claudeRefusal.body));
    res.writeHead(fake.claudeRefusal.status, { 'content-type': 'application/json; charset=UTF-8', 'content-encoding': 'gzip', 'content-length': String(body.length) });
    return void res.end(body);
  }
  if (fake.claudeRefusal) return json(res, fake.claudeRefusal.status, fake.claudeRefusal.body);
  if ('model' in body) return claudeError(res, 'model: Extra inputs are not permitted');
  if (typeof body['anthropic_version'] !== 'string') return claudeError(res, 'anthropic_version: Field required');
  switch (action) {
    case 'rawPredict':
      return send(res, 200, 'application/json', claudeRecording('message.json', fake.claudeModel));
    case 'streamRawPredict':
      return stream(res, 'text/event-stream; charset=utf-8', splitAfter(claudeRecording('message-stream.sse', fake.claudeModel), '\n\n'), fake.pauseAfterFirstChunkMs, fake.holdAfterFirstChunk);
    default:
      return json(res, 404, { error: { code: 404, message: `Unknown action ${action}`, status: 'NOT_FOUND' } });
  }
}

function claudeRecording(name: string, model: string | undefined): Buffer {
  const recorded = anthropicFixture(name);
  return model === undefined ? recorded : Buffer.from(recorded.toString('utf8').replaceAll('"model":"claude-sonnet-4-20250514"', `"model":"${model}"`));
}

function claudeError(res: ServerResponse, message: string, status = 400): void {
  json(res, status, { type: 'error', error: { type: status === 404 ? 'not_found_error' : 'invalid_request_error', message } });
}

/** One write per element or event, as Vertex flushes them, so the gateway sees many chunks. */
async function stream(res: ServerResponse, contentType: string, chunks: Buffer[], pauseMs: number, hold?: Promise<void>): Promise<void> {
  res.writeHead(200, { 'content-type': contentType, 'x-vertex-fake': 'stream' });
  for (const [index, chunk] of chunks.entries()) {
    await new Promise((resolve) => res.write(chunk, resolve));
    if (index === 0 && pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    if (index === 0 && hold) await hold;
  }
  res.end();
}

export function splitAfter(bytes: Buffer, separator: string): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let at = bytes.indexOf(separator); at !== -1; at = bytes.indexOf(separator, start)) {
    parts.push(bytes.subarray(start, at + separator.length));
    start = at + separator.length;
  }
  if (start < bytes.length) parts.push(bytes.subarray(start));
  return parts;
}

function decodeSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json; charset=UTF-8', Buffer.from(JSON.stringify(body)));
}

/** A recording with its traffic type replaced (Vertex names the tier that ran there). */
function withTraffic(recorded: Buffer, trafficType: string | undefined): Buffer {
  return trafficType === undefined ? recorded : Buffer.from(recorded.toString('utf8').replaceAll('"trafficType": "ON_DEMAND"', `"trafficType": "${trafficType}"`));
}

function send(res: ServerResponse, status: number, type: string, body: Buffer): void {
  res.writeHead(status, { 'content-type': type, 'content-length': String(body.length), 'x-vertex-fake': 'document' });
  res.end(body);
}

function collect(req: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
