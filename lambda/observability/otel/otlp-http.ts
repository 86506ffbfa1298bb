import type { Dispatcher } from 'undici';
import { ExportHeaderError, type ExportHeaders } from './export-headers';
import { encodeJson } from './otlp-json';
import { encodeProto } from './otlp-proto';
import type { OtlpProtocol } from './settings';
import type { SpanData, SpanSource } from './span';

/** How one export request ended. */
export type ExportResult =
  | { readonly kind: 'ok' }
  /** Worth trying again: a network error, a timeout, or 429 / 502 / 503 / 504 (with the receiver's `Retry-After`, if any). */
  | { readonly kind: 'retry'; readonly reason: string; readonly afterMs?: number }
  /** The receiver refused the batch (400, 401, 413, …): sending it again would not help. */
  | { readonly kind: 'rejected'; readonly reason: string }
  /** Not sent, and not worth trying again at once: a header's secret could not be read (the secrets cache retries on its own). */
  | { readonly kind: 'failed'; readonly reason: string };

export type SendSpans = (spans: readonly SpanData[]) => Promise<ExportResult>;

export interface OtlpHttpTarget {
  readonly url: URL;
  readonly protocol: OtlpProtocol;
  /** Asked once per batch; the values are never logged. */
  readonly headers: ExportHeaders;
  readonly timeoutMs: number;
}

const RETRYABLE = new Set([429, 502, 503, 504]);

const CONTENT_TYPES: Readonly<Record<OtlpProtocol, string>> = { 'http/protobuf': 'application/x-protobuf', 'http/json': 'application/json' };

/**
 * Sends spans to one OTLP/HTTP receiver (the OTLP spec's `POST /v1/traces`). Never throws: every
 * outcome is an {@link ExportResult}, whose reason names a status, an error code or the secret a
 * header could not be read from, never a header's value.
 */
export function otlpHttpSender(target: OtlpHttpTarget, source: SpanSource, dispatcher: Dispatcher): SendSpans {
  const origin = target.url.origin;
  const path = `${target.url.pathname}${target.url.search}`;
  const contentType = CONTENT_TYPES[target.protocol];
  return async (spans) => {
    let headers: Record<string, string>;
    try {
      headers = { ...(await target.headers()), 'content-type': contentType };
    } catch (error) {
      return { kind: 'failed', reason: error instanceof ExportHeaderError ? error.message : `headers unavailable (${error instanceof Error ? error.name : typeof error})` };
    }
    let body: Uint8Array | string;
    try {
      body = target.protocol === 'http/json' ? encodeJson(source, spans) : encodeProto(source, spans);
    } catch (error) {
      return { kind: 'rejected', reason: `encoding failed (${error instanceof Error ? error.name : typeof error})` };
    }
    try {
      const response = await dispatcher.request({
        origin,
        path,
        method: 'POST',
        headers,
        body,
        headersTimeout: target.timeoutMs,
        bodyTimeout: target.timeoutMs,
        signal: AbortSignal.timeout(target.timeoutMs),
      });
      // The answer (a partial-success report, or an error status) is read and let go: nothing in it changes what we do.
      await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      const status = response.statusCode;
      if (status >= 200 && status < 300) return { kind: 'ok' };
      if (RETRYABLE.has(status)) {
        const afterMs = retryAfterMs(response.headers['retry-after']);
        return afterMs === undefined ? { kind: 'retry', reason: `HTTP ${status}` } : { kind: 'retry', reason: `HTTP ${status}`, afterMs };
      }
      return { kind: 'rejected', reason: `HTTP ${status}` };
    } catch (error) {
      return { kind: 'retry', reason: errorCode(error) };
    }
  };
}

/** `Retry-After` as seconds or an HTTP date, in milliseconds from now. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string') return name;
  }
  return 'unknown error';
}
