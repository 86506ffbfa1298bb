import { Agent, type Dispatcher } from 'undici';
import { GatewayError } from './errors';
import type { IncomingHeaders, OutgoingHeaders } from './http-types';

/** Never forwarded: hop-by-hop headers, and everything that could carry the gateway key. */
const DROPPED_REQUEST_HEADERS = new Set([
  'authorization',
  'x-api-key',
  'x-goog-api-key',
  'cookie',
  'host',
  'content-length',
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'http2-settings',
]);

const DROPPED_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'trailer']);

export interface UpstreamRequest {
  readonly baseUrl: URL;
  /** Appended to the base URL's path; already checked for dot segments. */
  readonly path: string;
  readonly query: string;
  readonly method: string;
  readonly headers: IncomingHeaders;
  readonly auth: Record<string, string>;
  readonly body: Buffer | undefined;
}

export interface UpstreamResponse {
  readonly status: number;
  readonly headers: OutgoingHeaders;
  readonly body: AsyncIterable<Uint8Array>;
}

/** Pooled keep-alive connections per upstream origin: a new TLS handshake per call would dominate latency. */
export function createUpstreamAgent(): Dispatcher {
  return new Agent({ keepAliveTimeout: 30_000, connections: 256 });
}

export async function sendUpstream(dispatcher: Dispatcher, request: UpstreamRequest): Promise<UpstreamResponse> {
  const basePath = request.baseUrl.pathname.replace(/\/+$/, '');
  try {
    const response = await dispatcher.request({
      origin: request.baseUrl.origin,
      path: `${basePath}${request.path}${request.query}`,
      method: request.method as Dispatcher.HttpMethod,
      headers: upstreamHeaders(request),
      body: request.body,
    });
    return { status: response.statusCode, headers: clientHeaders(response.headers), body: response.body };
  } catch (error) {
    throw new GatewayError('upstream_unreachable', `The upstream provider at ${request.baseUrl.host} could not be reached.`, { cause: error });
  }
}

function upstreamHeaders(request: UpstreamRequest): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined && !DROPPED_REQUEST_HEADERS.has(name)) headers[name] = value;
  }
  Object.assign(headers, request.auth);
  if (request.body) headers['content-length'] = String(request.body.byteLength);
  return headers;
}

function clientHeaders(headers: Dispatcher.ResponseData['headers']): OutgoingHeaders {
  const out: OutgoingHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !DROPPED_RESPONSE_HEADERS.has(name)) out[name] = value;
  }
  return out;
}
