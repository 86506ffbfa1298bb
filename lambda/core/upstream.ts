import type { Dispatcher } from 'undici';
import type { UpstreamDraft } from '../providers/types';
import { GatewayError } from './errors';
import type { IncomingHeaders, OutgoingHeaders } from './http-types';
import { Agent } from './undici-agent';

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

/**
 * A path and query the URL standard leaves exactly as they are (nothing to percent-encode, no
 * empty query): forwarded without building a URL object per request.
 */
const PLAIN_TARGET = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*(?:\?[A-Za-z0-9\-._~!$&()*+,;=:@%/?]+)?$/;

const DROPPED_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'trailer']);

export interface UpstreamResponse {
  readonly status: number;
  readonly headers: OutgoingHeaders;
  readonly body: AsyncIterable<Uint8Array>;
  /** The whole body in one piece, instead of iterating `body` (cheaper for a document read whole anyway). */
  readonly bytes: () => Promise<Uint8Array>;
}

/** Pooled keep-alive connections per upstream origin: a new TLS handshake per call would dominate latency. */
export function createUpstreamAgent(): Dispatcher {
  return new Agent({ keepAliveTimeout: 30_000, connections: 256 });
}

/**
 * The request as it will leave: the configured base URL (the only source of the host) joined
 * with a path already checked for dot segments, and the caller's headers minus its credentials.
 */
export function draftUpstream(
  baseUrl: URL,
  path: string,
  query: string,
  method: string,
  incoming: IncomingHeaders,
  body: Buffer | undefined,
  /** The provider's own additions to the dropped headers. */
  drops?: (name: string) => boolean,
): UpstreamDraft {
  const basePath = baseUrl.pathname.replace(/\/+$/, '');
  const headers: Record<string, string | string[]> = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value !== undefined && !DROPPED_REQUEST_HEADERS.has(name) && !drops?.(name)) headers[name] = value;
  }
  if (body) headers['content-length'] = String(body.byteLength);
  const origin = baseUrl.origin;
  let target = `${basePath}${path}${query}`;
  let url: URL | undefined;
  if (!PLAIN_TARGET.test(target)) {
    // Characters the URL standard would percent-encode: send what it serialises, as signers see it.
    url = new URL(`${origin}${target}`);
    target = `${url.pathname}${url.search}`;
  }
  return {
    method,
    origin,
    target,
    get url() {
      return (url ??= new URL(`${origin}${target}`));
    },
    headers,
    body,
  };
}

export async function sendUpstream(dispatcher: Dispatcher, draft: UpstreamDraft, auth: Record<string, string>): Promise<UpstreamResponse> {
  // A copy, not `{ ...draft.headers, ...auth }`: spreading a dictionary-mode object is slow on Node 20.
  const headers: Record<string, string | string[]> = {};
  for (const name in draft.headers) headers[name] = draft.headers[name] as string | string[];
  for (const name in auth) headers[name] = auth[name] as string;
  try {
    const response = await dispatcher.request({
      origin: draft.origin,
      path: draft.target,
      method: draft.method as Dispatcher.HttpMethod,
      headers,
      body: draft.body,
    });
    const body = response.body;
    return { status: response.statusCode, headers: clientHeaders(response.headers), body, bytes: () => body.bytes() };
  } catch (error) {
    throw new GatewayError('upstream_unreachable', `The upstream provider at ${new URL(draft.origin).host} could not be reached.`, { cause: error });
  }
}

function clientHeaders(headers: Dispatcher.ResponseData['headers']): OutgoingHeaders {
  const out: OutgoingHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !DROPPED_RESPONSE_HEADERS.has(name)) out[name] = value;
  }
  return out;
}
