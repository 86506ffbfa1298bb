import { brotliDecompressSync, gunzipSync, inflateSync, type ZlibOptions } from 'node:zlib';
import type { OutgoingHeaders } from '../core/http-types';
import type { UpstreamResponse } from '../core/upstream';
import { parseJson } from '../formats/shared';

/** An error document or a token count is a few hundred bytes; a longer body is passed on as it came, unread past this. */
const MAX_DOCUMENT_BYTES = 64 * 1024;

/** What a binding's translation sees of a response it rewrites. */
export interface JsonDocument {
  readonly status: number;
  readonly headers: OutgoingHeaders;
  /** The body as JSON; undefined when it is not JSON. */
  readonly json: unknown;
}

/**
 * A small JSON response with its body rewritten by `translate` into another API's shape: an error
 * for a binding whose callers speak another API than the provider's errors do, or a document the
 * binding answers in the caller's API (Bedrock's token count as Anthropic's). The status and other
 * headers stay. Whatever cannot be read whole (too long, an unknown or broken encoding, a read
 * that fails) or `translate` leaves alone (undefined) passes on exactly as it came. Never rejects,
 * given a `translate` that never throws.
 *
 * @example
 * reframeError: (response) => translatedJson(response, ({ json }) => (isGoogleError(json) ? anthropicShape(json) : undefined)),
 */
export async function translatedJson(response: UpstreamResponse, translate: (document: JsonDocument) => Record<string, unknown> | undefined): Promise<UpstreamResponse> {
  const iterator = response.body[Symbol.asyncIterator]();
  const read: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) break;
      read.push(next.value);
      size += next.value.byteLength;
      if (size > MAX_DOCUMENT_BYTES) return asItCame(response, resumed(read, iterator));
    }
  } catch (error) {
    return asItCame(response, resumed(read, iterator, error));
  }
  const raw = Buffer.concat(read, size);
  const decoded = decode(raw, headerString(response.headers['content-encoding']));
  const translated = decoded && translate({ status: response.status, headers: response.headers, json: parseJson(decoded.toString('utf8')) });
  if (translated === undefined) return whole(response, response.headers, raw);
  const { headers } = response;
  // The response's own header object, made for it alone (as `reframe` treats it too).
  delete headers['content-encoding'];
  headers['content-type'] = 'application/json';
  const body = Buffer.from(JSON.stringify(translated));
  headers['content-length'] = String(body.byteLength);
  return whole(response, headers, body);
}

function asItCame(response: UpstreamResponse, body: AsyncIterable<Uint8Array>): UpstreamResponse {
  return { ...response, body, bytes: () => collect(body) };
}

function whole(response: UpstreamResponse, headers: OutgoingHeaders, body: Buffer): UpstreamResponse {
  return {
    status: response.status,
    headers,
    body: (async function* () {
      yield body;
    })(),
    bytes: async () => body,
    discard: async () => {},
  };
}

/** The chunks already read, then the rest as the upstream sends it (or the error reading it hit). */
async function* resumed(read: readonly Uint8Array[], rest: AsyncIterator<Uint8Array>, failed?: unknown): AsyncGenerator<Uint8Array> {
  yield* read;
  if (failed !== undefined) throw failed;
  for (;;) {
    const next = await rest.next();
    if (next.done === true) return;
    yield next.value;
  }
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The body decompressed, at most {@link MAX_DOCUMENT_BYTES} of it; undefined if it cannot be. */
function decode(raw: Buffer, encoding: string | undefined): Buffer | undefined {
  const options: ZlibOptions = { maxOutputLength: MAX_DOCUMENT_BYTES };
  try {
    switch (encoding?.trim().toLowerCase()) {
      case undefined:
      case '':
      case 'identity':
        return raw;
      case 'gzip':
      case 'x-gzip':
        return gunzipSync(raw, options);
      case 'deflate':
        return inflateSync(raw, options);
      case 'br':
        return brotliDecompressSync(raw, options);
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
