import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { startRecordingServer, type SeenRequest } from './recording-server';
import { bedrockFixture, converseStreamFrames, exceptionFrame, invokeStreamFrames } from './bedrock-eventstream';

export interface AwsTestCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** What the fake accepts, as real Bedrock would: a valid SigV4 signature by these credentials, or this API key. */
export type ExpectedAuth =
  | { readonly kind: 'sigv4'; readonly credentials: AwsTestCredentials; readonly region: string }
  | { readonly kind: 'bearer'; readonly apiKey: string };

// `url` is the request target exactly as received, percent-encoding included: what SigV4 signs.
export type { SeenRequest } from './recording-server';

export interface FakeBedrockBehaviour {
  /** In a stream, send this many frames, then a `modelStreamErrorException` frame, then end. */
  exceptionAfterFrames?: number;
  /** Refuse every request as Bedrock does: this status, `{"message"}`, the exception in `x-amzn-errortype`. */
  error?: { readonly status: number; readonly type: string; readonly message: string };
}

export interface FakeBedrock {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  readonly requests: SeenRequest[];
  /** Why each refused request was refused. */
  readonly refusals: string[];
  behaviour: FakeBedrockBehaviour;
  close(): Promise<void>;
}

/** The token counts Bedrock puts in InvokeModel's response headers for `invoke-anthropic.json`. */
export const INVOKE_COUNT_HEADERS = {
  'x-amzn-bedrock-input-token-count': '15',
  'x-amzn-bedrock-output-token-count': '12',
  'x-amzn-bedrock-cache-read-input-token-count': '300',
  'x-amzn-bedrock-cache-write-input-token-count': '1200',
  'x-amzn-bedrock-invocation-latency': '811',
};

export const COUNT_TOKENS_BODY = '{"inputTokens":42}';

/**
 * Bedrock Runtime on loopback, replaying recorded bodies. It verifies every request's SigV4
 * signature by recomputing it with `@smithy/signature-v4` over what actually arrived (path as
 * sent, signed headers, body bytes) and refuses it otherwise, as AWS does.
 */
export async function startFakeBedrock(expected: ExpectedAuth): Promise<FakeBedrock> {
  const refusals: string[] = [];
  const server = await startRecordingServer(async (seen, res) => {
    const refusal = await verify(seen, expected);
    if (refusal) {
      refusals.push(refusal);
      return sendError(res, 403, refusal.startsWith('unknown') ? 'UnrecognizedClientException' : 'InvalidSignatureException', refusal);
    }
    await respond(seen, res, fake.behaviour);
  });
  const fake: FakeBedrock = {
    baseUrl: server.origin,
    requests: server.requests,
    refusals,
    behaviour: {},
    close: () => server.close(),
  };
  return fake;
}

async function verify(req: SeenRequest, expected: ExpectedAuth): Promise<string | undefined> {
  const authorization = header(req, 'authorization') ?? '';
  if (expected.kind === 'bearer') {
    if (authorization !== `Bearer ${expected.apiKey}`) return 'unknown API key';
    return Object.keys(req.headers).some((name) => name.startsWith('x-amz-')) ? 'SigV4 headers beside an API key' : undefined;
  }
  return verifySigV4(req, expected.credentials, expected.region);
}

const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$/;

async function verifySigV4(req: SeenRequest, credentials: AwsTestCredentials, region: string): Promise<string | undefined> {
  const authorization = header(req, 'authorization') ?? '';
  const match = AUTHORIZATION.exec(authorization);
  if (!match) return 'missing or malformed SigV4 authorization';
  const [, accessKeyId, , scopeRegion, service, signedHeaderList = ''] = match;
  if (accessKeyId !== credentials.accessKeyId) return 'unknown access key';
  if (scopeRegion !== region || service !== 'bedrock') return `wrong credential scope ${scopeRegion}/${service}`;

  const amzDate = header(req, 'x-amz-date') ?? '';
  const signedAt = new Date(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
  if (Number.isNaN(signedAt.getTime()) || Math.abs(Date.now() - signedAt.getTime()) > 5 * 60_000) return 'x-amz-date missing or skewed';
  if (credentials.sessionToken !== undefined && header(req, 'x-amz-security-token') !== credentials.sessionToken) return 'wrong session token';

  const signedNames = signedHeaderList.split(';');
  if (!signedNames.includes('host') || !signedNames.includes('x-amz-date')) return 'host or x-amz-date not signed';
  const unsignedAmz = Object.keys(req.headers).filter((name) => name.startsWith('x-amz-') && !signedNames.includes(name));
  if (unsignedAmz.length > 0) return `unsigned ${unsignedAmz.join(', ')}`;
  const payloadHash = header(req, 'x-amz-content-sha256');
  if (payloadHash !== undefined && payloadHash !== createHash('sha256').update(req.body).digest('hex')) return 'payload hash does not match the body';

  const headers: Record<string, string> = {};
  for (const name of signedNames) {
    const value = header(req, name);
    if (value === undefined) return `signed header ${name} is missing`;
    headers[name] = value;
  }
  const queryAt = req.url.indexOf('?');
  const path = queryAt === -1 ? req.url : req.url.slice(0, queryAt);
  const query = Object.fromEntries(new URLSearchParams(queryAt === -1 ? '' : req.url.slice(queryAt + 1)));
  const signer = new SignatureV4({ service: 'bedrock', region, credentials, sha256: Sha256, applyChecksum: payloadHash !== undefined });
  const recomputed = await signer.sign(new HttpRequest({ method: req.method, hostname: '127.0.0.1', path, query, headers, body: req.body }), {
    signingDate: signedAt,
  });
  return recomputed.headers['authorization'] === authorization ? undefined : 'signature does not match';
}

async function respond(req: SeenRequest, res: ServerResponse, behaviour: FakeBedrockBehaviour): Promise<void> {
  if (behaviour.error) return sendError(res, behaviour.error.status, behaviour.error.type, behaviour.error.message);
  const operation = /^\/model\/[^/]+\/([a-z-]+)$/.exec(req.url)?.[1];
  switch (req.method === 'POST' ? operation : undefined) {
    case 'converse':
      return send(res, 200, 'application/json', withTierOf(req, bedrockFixture('converse.json')));
    case 'invoke':
      return send(res, 200, 'application/json', bedrockFixture('invoke-anthropic.json'), { ...INVOKE_COUNT_HEADERS, ...tierHeadersOf(req) });
    case 'count-tokens': {
      const refusal = countTokensRefusal(req);
      if (refusal) return sendError(res, 400, 'ValidationException', refusal);
      return send(res, 200, 'application/json', Buffer.from(COUNT_TOKENS_BODY));
    }
    case 'converse-stream':
      return sendFrames(res, converseStreamFrames(), behaviour);
    case 'invoke-with-response-stream':
      return sendFrames(res, invokeStreamFrames(), behaviour, { 'x-amzn-bedrock-content-type': 'application/json' });
    default:
      return sendError(res, 404, 'UnknownOperationException', `no operation at ${req.method} ${req.url}`);
  }
}

/**
 * What Bedrock's CountTokens refuses: a profile id (it counts only at the bare foundation model),
 * and an input that is not one of `converse` or `invokeModel` with a base64 JSON body.
 */
function countTokensRefusal(req: SeenRequest): string | undefined {
  const model = decodeURIComponent(/^\/model\/([^/]+)\//.exec(req.url)?.[1] ?? '');
  if (/^(?:us|us-gov|eu|apac|jp|au|ca|global)\./.test(model)) return 'The provided model doesn\'t support counting tokens.';
  let input: unknown;
  try {
    input = (JSON.parse(req.body.toString('utf8')) as { input?: unknown }).input;
  } catch {
    return 'The request body is not JSON.';
  }
  if (typeof input !== 'object' || input === null || Object.keys(input).length !== 1) return 'input: exactly one of converse or invokeModel.';
  const invoke = (input as { invokeModel?: { body?: unknown } }).invokeModel;
  if (invoke === undefined) return 'converse' in input ? undefined : 'input: exactly one of converse or invokeModel.';
  if (typeof invoke.body !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(invoke.body)) return 'input.invokeModel.body: must be base64.';
  try {
    const body = JSON.parse(Buffer.from(invoke.body, 'base64').toString('utf8')) as Record<string, unknown>;
    if (typeof body['anthropic_version'] !== 'string' || typeof body['max_tokens'] !== 'number' || 'model' in body) return 'Malformed input request: needs anthropic_version and max_tokens, and no model.';
  } catch {
    return 'input.invokeModel.body: not the model\'s JSON input.';
  }
  return undefined;
}

/** One frame per write, as Bedrock sends them, so the gateway sees frames arrive one by one. */
async function sendFrames(res: ServerResponse, frames: Buffer[], behaviour: FakeBedrockBehaviour, extra: Record<string, string> = {}): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'req-fake-bedrock', ...extra });
  const cutAt = behaviour.exceptionAfterFrames;
  const sent = cutAt === undefined ? frames : [...frames.slice(0, cutAt), exceptionFrame('modelStreamErrorException', 'The model stopped unexpectedly.')];
  for (const frame of sent) await new Promise((resolve) => res.write(frame, resolve));
  res.end();
}

/** Like Bedrock, a Converse response names the service tier and latency its request asked for. */
function withTierOf(req: SeenRequest, recorded: Buffer): Buffer {
  const asked = JSON.parse(req.body.toString('utf8')) as Record<string, unknown>;
  if (asked['serviceTier'] === undefined && asked['performanceConfig'] === undefined) return recorded;
  const response = JSON.parse(recorded.toString('utf8')) as Record<string, unknown>;
  return Buffer.from(JSON.stringify({ ...response, serviceTier: asked['serviceTier'], performanceConfig: asked['performanceConfig'] }));
}

/** And InvokeModel's, in the headers it was asked in. */
function tierHeadersOf(req: SeenRequest): Record<string, string> {
  const tier = header(req, 'x-amzn-bedrock-service-tier');
  const latency = header(req, 'x-amzn-bedrock-performanceconfig-latency');
  return { ...(tier !== undefined && { 'x-amzn-bedrock-service-tier': tier }), ...(latency !== undefined && { 'x-amzn-bedrock-performanceconfig-latency': latency }) };
}

function send(res: ServerResponse, status: number, type: string, body: Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': String(body.length), 'x-amzn-requestid': 'req-fake-bedrock', ...extra });
  res.end(body);
}

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  send(res, status, 'application/json', Buffer.from(JSON.stringify({ message })), { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.coral.service/` });
}

function header(req: SeenRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}
