import type { Dispatcher } from 'undici';
import type { UpstreamDraft } from '../providers/types';
import { GatewayError, GatewayTimeLimitError } from './errors';
import type { UpstreamSettings } from '../config/config';
import type { IncomingHeaders, OutgoingHeaders } from './http-types';
import { Agent } from './undici-agent';
import { UpstreamDeadlineError } from './upstream-deadline';

/** Never forwarded: hop-by-hop headers, and every header a client puts a credential in. */
const DROPPED_REQUEST_HEADERS = new Set([
  'authorization',
  'x-api-key',
  'x-goog-api-key',
  // Azure OpenAI's name for its key header: the gateway sets the provider's own where it needs one.
  'api-key',
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
  // Some APIs (Google's among them) run the method these name instead of the request's own: a
  // POST the gateway metered must not arrive as a DELETE.
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
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
  /**
   * Throws the body away unread (a failed attempt's, when another member answers instead): a
   * short one is read to its end so its connection goes back to the pool, a longer one cut. Never rejects.
   */
  readonly discard: () => Promise<void>;
}

/** What a discarded body may be read to keep its connection: an error document is far smaller. */
const DISCARD_LIMIT_BYTES = 64 * 1024;

/**
 * Pooled keep-alive connections per upstream origin (a new TLS handshake per call would dominate
 * latency), with every wait bounded: undici's own defaults (300 s) sit below a long reasoning
 * call and above a dead connection.
 */
export function createUpstreamAgent(settings: UpstreamSettings): Dispatcher {
  return new Agent({
    keepAliveTimeout: 30_000,
    connections: settings.connectionsPerOrigin,
    connect: { timeout: settings.connectTimeoutMs },
    headersTimeout: settings.firstByteTimeoutMs,
    bodyTimeout: settings.idleTimeoutMs,
  });
}

/**
 * The upstream call failed before a response arrived. `reachedProvider` says whether the request
 * may have reached it: then the provider may have run the model, and bill for it.
 */
export class UpstreamFailedError extends GatewayError {
  constructor(
    code: 'upstream_unreachable' | 'upstream_timeout',
    message: string,
    readonly reachedProvider: boolean,
    cause: unknown,
  ) {
    super(code, message, { cause });
    this.name = 'UpstreamFailedError';
  }
}

/** Failures that happen before a request's bytes can leave: no connection, no name, no TLS session. */
const NEVER_SENT = /^(?:ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EADDRNOTAVAIL|UND_ERR_CONNECT_TIMEOUT|ERR_TLS_.*|ERR_SSL_.*|.*CERT.*|.*SIGNATURE.*)$/;

/**
 * The request as it will leave: the configured base URL (the only source of the host) joined
 * with a path already checked for dot segments, and the caller's headers minus its credentials,
 * minus the headers its `Connection` header names, and minus anything that carries `secret` (the
 * gateway key the caller presented) in a header or a query parameter.
 */
export function draftUpstream(input: DraftInput): UpstreamDraft {
  const { baseUrl, incoming, body, secret, drops } = input;
  const basePath = baseUrl.pathname.replace(/\/+$/, '');
  const hopByHop = connectionTokens(incoming['connection']);
  const headers: Record<string, string | string[]> = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || DROPPED_REQUEST_HEADERS.has(name) || drops?.(name) || hopByHop?.has(name)) continue;
    if (secret !== undefined && carriesSecret(value, secret)) continue;
    headers[name] = value;
  }
  if (body) headers['content-length'] = String(body.byteLength);
  if (input.traceparent !== undefined) headers['traceparent'] = input.traceparent;
  const origin = baseUrl.origin;
  const query = secret === undefined ? input.query : queryWithout(input.query, secret);
  let target = `${basePath}${input.path}${query}`;
  let url: URL | undefined;
  if (!PLAIN_TARGET.test(target)) {
    // Characters the URL standard would percent-encode: send what it serialises, as signers see it.
    url = new URL(`${origin}${target}`);
    target = `${url.pathname}${url.search}`;
  }
  return {
    method: input.method,
    origin,
    target,
    get url() {
      return (url ??= new URL(`${origin}${target}`));
    },
    headers,
    body,
  };
}

export interface DraftInput {
  readonly baseUrl: URL;
  /** The provider path, checked and mapped. */
  readonly path: string;
  /** As the client sent it, with its `?`, or empty. */
  readonly query: string;
  readonly method: string;
  readonly incoming: IncomingHeaders;
  readonly body: Buffer | undefined;
  /** The gateway key the caller presented: nothing carrying it is forwarded. */
  readonly secret?: string;
  /** The provider's own additions to the dropped headers. */
  readonly drops?: (name: string) => boolean;
  /** When tracing, the attempt's span: replaces the caller's `traceparent` (its `tracestate` and `baggage` pass on as sent). */
  readonly traceparent?: string | undefined;
}

function carriesSecret(value: string | string[], secret: string): boolean {
  return typeof value === 'string' ? value.includes(secret) : value.some((item) => item.includes(secret));
}

/** The query without the parameters that carry `secret`, as sent or once percent-decoded (as the upstream would read them). */
function queryWithout(query: string, secret: string): string {
  if (query.length <= 1) return query;
  const params = query.slice(1).split('&');
  const kept = params.filter((param) => !param.includes(secret) && !(/[%+]/.test(param) && percentDecoded(param).includes(secret)));
  if (kept.length === params.length) return query;
  return kept.length === 0 ? '' : `?${kept.join('&')}`;
}

/** Lenient, as servers decode: each valid `%XX` becomes its byte, anything else stays. Keys are ASCII, so bytes as Latin-1 find them. */
function percentDecoded(text: string): string {
  return text.replace(/\+/g, ' ').replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Header names a `Connection` header lists, lower-cased: hop-by-hop by declaration (RFC 9110 §7.6.1). */
function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  // What nearly every client sends: options of the connection itself, naming no header.
  if (value === undefined || value === 'keep-alive' || value === 'close' || value === 'Keep-Alive') return undefined;
  const tokens = (Array.isArray(value) ? value.join(',') : value).split(',');
  const names = new Set<string>();
  for (const token of tokens) {
    const name = token.trim().toLowerCase();
    if (name !== '' && name !== 'keep-alive' && name !== 'close') names.add(name);
  }
  return names.size === 0 ? undefined : names;
}

export async function sendUpstream(dispatcher: Dispatcher, draft: UpstreamDraft, auth: Record<string, string>): Promise<UpstreamResponse> {
  // A copy, not `{ ...draft.headers, ...auth }`: spreading a dictionary-mode object is slow on Node 20.
  const headers: Record<string, string | string[]> = {};
  for (const name in draft.headers) headers[name] = draft.headers[name] as string | string[];
  for (const name in auth) headers[name] = auth[name] as string;
  let response: Dispatcher.ResponseData;
  try {
    response = await dispatcher.request({
      origin: draft.origin,
      path: draft.target,
      method: draft.method as Dispatcher.HttpMethod,
      headers,
      body: draft.body,
    });
  } catch (error) {
    throw upstreamFailure(error, new URL(draft.origin).host);
  }
  const { statusCode: status, body } = response;
  if (status > 599) {
    // undici takes any three digits; HTTP has none past 599 (RFC 9110 §15), and neither HTTP/2 nor
    // a function URL can send one on. The provider took the request, and may have run it.
    await body.dump({ limit: DISCARD_LIMIT_BYTES }).catch(() => {});
    throw new UpstreamFailedError('upstream_unreachable', `The upstream provider at ${new URL(draft.origin).host} answered with HTTP status ${status}, which HTTP does not have.`, true, undefined);
  }
  if (status >= 300 && status < 400 && status !== 304) {
    // No provider API redirects a call. Passed on, its Location would send the client's SDK (which
    // follows redirects) with the prompt, and perhaps the gateway key, to a host the config never
    // named, and whatever answered there would reach the client unmetered. No model ran: not billed.
    await body.dump({ limit: DISCARD_LIMIT_BYTES }).catch(() => {});
    const host = new URL(draft.origin).host;
    throw new UpstreamFailedError('upstream_unreachable', `The upstream provider at ${host} answered with a redirect (HTTP ${status}), which tollgate does not follow or pass on.`, false, undefined);
  }
  return {
    status,
    headers: clientHeaders(response.headers),
    body,
    bytes: () => body.bytes(),
    discard: () => body.dump({ limit: DISCARD_LIMIT_BYTES }).catch(() => {}),
  };
}

function upstreamFailure(error: unknown, host: string): UpstreamFailedError {
  if (error instanceof GatewayTimeLimitError) {
    return new UpstreamFailedError('upstream_timeout', `The gateway's time limit for this request ran out before the upstream provider at ${host} answered.`, true, error);
  }
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  if (error instanceof UpstreamDeadlineError) {
    return new UpstreamFailedError('upstream_timeout', `The upstream provider at ${host} did not answer within the gateway's time for a whole response.`, true, error);
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT') {
    return new UpstreamFailedError('upstream_timeout', `The upstream provider at ${host} took the request but did not answer in time.`, true, error);
  }
  if (NEVER_SENT.test(code)) return new UpstreamFailedError('upstream_unreachable', `The upstream provider at ${host} could not be reached.`, false, error);
  // A connection reset or closed after the request went out: the provider may have run it.
  return new UpstreamFailedError('upstream_unreachable', `The upstream provider at ${host} failed before answering.`, true, error);
}

/**
 * The upstream's headers as the client gets them: without hop-by-hop headers, and without the
 * gateway's own (`x-tollgate-*`, the price header pydantic-ai reads), which only this gateway
 * sets: another gateway upstream of it, or an upstream that sends them, must not tell the client
 * a cost this one did not charge (on a stream, which carries none of this gateway's, it would).
 */
function clientHeaders(headers: Dispatcher.ResponseData['headers']): OutgoingHeaders {
  const hopByHop = connectionTokens(headers['connection']);
  const out: OutgoingHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || DROPPED_RESPONSE_HEADERS.has(name) || hopByHop?.has(name) || isGatewayHeader(name)) continue;
    out[name] = value;
  }
  return out;
}

function isGatewayHeader(name: string): boolean {
  return name.startsWith('x-tollgate-') || name === 'pydantic-ai-gateway-price-estimate';
}
