import { constants, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { GatewayRequest, IncomingHeaders, OutgoingHeaders } from '../core/http-types';
import type { NodeResponse } from './node-http';
import { requestBody, type BodyTimeouts } from './request-body';

/**
 * Connection-level headers HTTP/2 forbids (RFC 9113 §8.2.2); node:http2 throws on them. `te` is a
 * request header, allowed there only as `trailers`: in an upstream's response it means nothing.
 */
const CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'te']);

/**
 * An HTTP/2 stream as the core's request: pseudo-headers become method and URL and are never
 * forwarded; the body is read under the same timeouts as HTTP/1's.
 */
export function http2Request(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, timeouts?: BodyTimeouts): GatewayRequest {
  // A client resetting its stream is reported through 'close'; without a listener, 'error' would crash the process.
  stream.on('error', () => {});
  const plain: Record<string, string | string[] | undefined> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith(':')) plain[name] = value;
  }
  return { method: headers[':method'] ?? 'GET', url: headers[':path'] ?? '/', headers: plain satisfies IncomingHeaders, body: requestBody(stream, timeouts) };
}

/** The few response calls `serve` makes, on an HTTP/2 stream. */
export function http2Response(stream: ServerHttp2Stream): NodeResponse {
  return {
    writeHead(status, headers) {
      const allowed: OutgoingHeaders = {};
      for (const [name, value] of Object.entries(headers)) {
        if (CONNECTION_HEADERS.has(name)) continue;
        // An upstream may repeat a header HTTP/2 allows once (`content-type`, `location`), and
        // node:http2 throws on it: one field, its values joined as RFC 9110 §5.3 combines them
        // (what an HTTP/1.1 client's fetch reads too). Cookies stay apart: they cannot be joined.
        allowed[name] = Array.isArray(value) && name !== 'set-cookie' ? value.join(', ') : value;
      }
      stream.respond({ ...allowed, ':status': status });
    },
    // respond() already queued the HEADERS frame.
    flushHeaders() {},
    write: (chunk) => stream.write(chunk),
    end() {
      // Still open from the client's side: it is sending a body the gateway will not read (refused
      // before reading, over the limit, timed out). RST_STREAM NO_ERROR, sent after the response's
      // END_STREAM, asks it to stop without failing the response (RFC 9113 §8.1).
      const unread = !stream.endAfterHeaders && stream.state.state === constants.NGHTTP2_STREAM_STATE_OPEN;
      stream.end();
      if (unread) stream.close(constants.NGHTTP2_NO_ERROR);
    },
    // RST_STREAM (INTERNAL_ERROR), so the client sees a failed response rather than a complete
    // one. Not close(code): that ends the stream cleanly first, and the reset comes too late.
    destroy: (error) => stream.destroy(error),
    get destroyed() {
      return stream.destroyed || stream.closed;
    },
    on: (event, listener) => stream.on(event, listener),
    off: (event, listener) => stream.off(event, listener),
  };
}
