import type { Writable } from 'node:stream';
import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import type { Gateway } from '../core/gateway';
import { bytes, type GatewayRequest, type GatewayResponse, type OutgoingHeaders } from '../core/http-types';

/**
 * The Lambda adapter: a function URL event in, the core's response out on Lambda's response
 * stream. It is the only place that knows about `awslambda`, and it mirrors `node-http.ts`.
 *
 * ```
 * event ──toGatewayRequest──▶ gateway.handle ──▶ HttpResponseStream.from(stream, prelude)
 *                                                   │ write('')      → prelude + 8 NUL bytes out now
 *                                                   │ write(chunk)…  → body, with backpressure
 *                                                   │ (body ends: the core settles spend here)
 *                                                   └ end()          → then the invocation returns
 * ```
 * Lambda freezes the sandbox once the handler's promise settles and never reports a client that
 * went away, so everything — the spend write included — happens before this function resolves.
 */

/** What `HttpResponseStream.from` sends ahead of the body, as JSON. */
export interface HttpResponseMetadata {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  /** Function URLs take `set-cookie` values here, one per cookie, never as a header. */
  readonly cookies: readonly string[];
}

export type StreamingHandler<E> = (event: E, responseStream: Writable, context: Context) => Promise<void>;

/** The slice of the Lambda Node.js runtime's `awslambda` global we use. */
export interface LambdaStreamingRuntime {
  streamifyResponse<E>(handler: StreamingHandler<E>): StreamingHandler<E>;
  readonly HttpResponseStream: { from(stream: Writable, metadata: HttpResponseMetadata): Writable };
}

/** Bytes between the JSON prelude and the body in the `application/vnd.awslambda.http-integration-response` framing. */
export const PRELUDE_DELIMITER = new Uint8Array(8);

/**
 * Outside Lambda (tests, local tools): the handler runs as is, and `from` writes the same framing
 * the runtime's `HttpResponseStream` writes — prelude, eight NUL bytes, then the body.
 */
export const localStreamingRuntime: LambdaStreamingRuntime = {
  streamifyResponse: (handler) => handler,
  HttpResponseStream: {
    from(stream, metadata) {
      stream.write(JSON.stringify(metadata));
      stream.write(PRELUDE_DELIMITER);
      return stream;
    },
  },
};

/**
 * `globalThis.awslambda` inside Lambda, the local stand-in everywhere else. Tested by its members,
 * not its presence: `@aws/lambda-invoke-store` (pulled in by the tracer) creates an `awslambda`
 * global of its own outside Lambda too.
 */
export function lambdaStreamingRuntime(): LambdaStreamingRuntime {
  const global = (globalThis as unknown as { awslambda?: Partial<LambdaStreamingRuntime> }).awslambda;
  if (typeof global?.streamifyResponse === 'function' && typeof global.HttpResponseStream?.from === 'function') {
    return global as LambdaStreamingRuntime;
  }
  return localStreamingRuntime;
}

/** Converts the event once: the core never sees a Lambda type. */
export function toGatewayRequest(event: LambdaFunctionURLEvent): GatewayRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  // Function URLs lift cookies out of the headers; put them back so the core can drop them as it does locally.
  if (event.cookies && event.cookies.length > 0) headers['cookie'] = event.cookies.join('; ');
  const query = event.rawQueryString ? `?${event.rawQueryString}` : '';
  const body = event.body === undefined || event.body === '' ? bytes() : bytes(Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8'));
  return { method: event.requestContext.http.method.toUpperCase(), url: `${event.rawPath || '/'}${query}`, headers, body };
}

/**
 * Status and headers as the prelude carries them. `content-length` is dropped: the runtime frames
 * the body itself, and a length that disagreed with its framing would break the response.
 */
export function toResponseMetadata(response: Pick<GatewayResponse, 'status' | 'headers'>): HttpResponseMetadata {
  const headers: Record<string, string> = {};
  let cookies: string[] = [];
  for (const [name, value] of Object.entries(response.headers as OutgoingHeaders)) {
    const lower = name.toLowerCase();
    if (lower === 'set-cookie') cookies = cookies.concat(value);
    else if (lower !== 'content-length') headers[lower] = Array.isArray(value) ? value.join(', ') : value;
  }
  return { statusCode: response.status, headers, cookies };
}

/**
 * Serves one invocation: handles the request, writes the response, and resolves only once the
 * core's body iteration — and with it the spend settlement — has finished. A body the upstream
 * broke rejects, so the runtime cuts the response instead of ending it as if it were complete.
 */
export async function serveFunctionUrl(
  gateway: Gateway,
  event: LambdaFunctionURLEvent,
  responseStream: Writable,
  runtime: LambdaStreamingRuntime = lambdaStreamingRuntime(),
): Promise<GatewayResponse> {
  const request = toGatewayRequest(event);
  const response = await gateway.handle(request);
  const stream = runtime.HttpResponseStream.from(responseStream, toResponseMetadata(response));
  // The runtime sends the prelude on the first write. An empty write sends it now: a stream's
  // status and headers reach the client before the first token (node-http's flushHeaders), and an
  // empty body still gets its status instead of a bare 200.
  stream.write(new Uint8Array(0));
  await writeBody(response, stream, request.method === 'HEAD');
  await new Promise<void>((resolve, reject) => {
    stream.once('error', reject);
    stream.end(() => {
      stream.off('error', reject);
      resolve();
    });
  });
  return response;
}

async function writeBody(response: GatewayResponse, stream: Writable, head: boolean): Promise<void> {
  for await (const chunk of response.body) {
    // HEAD and a dead stream still iterate to the end: that is what settles the spend.
    if (head || stream.destroyed || stream.writableEnded) continue;
    if (!stream.write(chunk)) await drained(stream);
  }
}

function drained(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}
