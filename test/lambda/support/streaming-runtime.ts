import { Writable } from 'node:stream';
import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import type { HttpResponseMetadata, LambdaStreamingRuntime, StreamingHandler } from '../../../lambda/server/lambda-stream';

export const PRELUDE_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
const DELIMITER = Buffer.alloc(8);
const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');

/** One write as it reached the wire, with when (performance.now()). */
export interface Wire {
  readonly at: number;
  readonly bytes: Buffer;
}

/**
 * The response stream the Lambda Node.js runtime hands a streaming handler, as far as a handler
 * can observe it: `setContentType` works only before the first write, and the first `write` —
 * even an empty one — first runs `_onBeforeFirstWrite`, which `HttpResponseStream.from` installs
 * to send the JSON prelude and eight NUL bytes.
 */
export class ResponseStreamStandIn extends Writable {
  contentType: string | undefined;
  _onBeforeFirstWrite: ((write: (chunk: string | Uint8Array) => void) => void) | undefined;
  readonly wire: Wire[] = [];
  private started = false;

  constructor(private readonly writeDelayMs = 0) {
    super({ highWaterMark: 1024 });
  }

  setContentType(type: string): void {
    if (this.started) throw new Error('Cannot set content-type, too late.');
    this.contentType = type;
  }

  override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    if (!this.started) {
      this.started = true;
      this._onBeforeFirstWrite?.((first) => super.write(first));
    }
    return (super.write as (...args: unknown[]) => boolean)(chunk, encoding, callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.wire.push({ at: performance.now(), bytes: Buffer.from(chunk) });
    if (this.writeDelayMs > 0) setTimeout(callback, this.writeDelayMs);
    else callback();
  }

  /** The response a function URL client would receive, split at the prelude's delimiter. */
  response(): { prelude: HttpResponseMetadata; body: Buffer; bodyWrites: Wire[]; firstByteAt: number | undefined } {
    const all = Buffer.concat(this.wire.map((w) => w.bytes));
    const end = all.indexOf(DELIMITER);
    if (end < 0) throw new Error(`no prelude delimiter in ${JSON.stringify(all.toString('utf8').slice(0, 200))}`);
    const prelude = JSON.parse(all.subarray(0, end).toString('utf8')) as HttpResponseMetadata;
    // Body writes: everything after the write that carried the delimiter.
    let offset = 0;
    const bodyWrites: Wire[] = [];
    for (const write of this.wire) {
      const start = offset;
      offset += write.bytes.length;
      if (start >= end + DELIMITER.length && write.bytes.length > 0) bodyWrites.push(write);
    }
    return { prelude, body: all.subarray(end + DELIMITER.length), bodyWrites, firstByteAt: this.wire.find((w) => w.bytes.length > 0)?.at };
  }
}

/** `awslambda` as the Node.js runtime defines it, installed on globalThis for the handler module to find. */
export const runtimeStandIn: LambdaStreamingRuntime = {
  streamifyResponse<E>(handler: StreamingHandler<E>): StreamingHandler<E> {
    return Object.assign(handler, { [STREAMING]: 'response' });
  },
  HttpResponseStream: {
    from(stream: Writable, metadata: HttpResponseMetadata): Writable {
      const target = stream as ResponseStreamStandIn;
      target.setContentType(PRELUDE_CONTENT_TYPE);
      target._onBeforeFirstWrite = (write) => {
        write(JSON.stringify(metadata));
        write(new Uint8Array(DELIMITER));
      };
      return target;
    },
  },
};

export function installRuntimeStandIn(): () => void {
  const global = globalThis as unknown as { awslambda?: unknown };
  const saved = global.awslambda;
  global.awslambda = { ...(typeof saved === 'object' && saved), ...runtimeStandIn };
  return () => {
    global.awslambda = saved;
  };
}

export interface Invocation {
  readonly stream: ResponseStreamStandIn;
  readonly startedAt: number;
  /** When the handler's promise settled: Lambda freezes the sandbox from here on. */
  readonly returnedAt: number;
  readonly error: unknown;
  /** Whether the handler ended the stream (a cut response is never ended). */
  readonly ended: boolean;
}

/** Runs one invocation the way the runtime does: event, response stream, context; waits for the handler's promise. */
export async function invoke(
  handler: StreamingHandler<LambdaFunctionURLEvent>,
  event: LambdaFunctionURLEvent,
  options: { writeDelayMs?: number; /** What the context says is left of the invocation. @default 900_000 */ remainingMs?: number } = {},
): Promise<Invocation> {
  const stream = new ResponseStreamStandIn(options.writeDelayMs);
  const startedAt = performance.now();
  let error: unknown;
  try {
    await handler(event, stream, lambdaContext(options.remainingMs));
  } catch (caught) {
    error = caught;
  }
  return { stream, startedAt, returnedAt: performance.now(), error, ended: stream.writableEnded };
}

export function lambdaContext(remainingMs = 900_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'tollgate-proxy',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:tollgate-proxy',
    memoryLimitInMB: '1024',
    awsRequestId: `req-${Math.random().toString(16).slice(2)}`,
    logGroupName: '/aws/lambda/tollgate-proxy',
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

export interface EventInit {
  readonly method?: string;
  readonly path: string;
  readonly query?: string;
  readonly headers?: Record<string, string>;
  readonly cookies?: string[];
  readonly body?: string | Buffer;
  /** Send the body base64-encoded, as function URLs do for binary content types. */
  readonly base64?: boolean;
}

/** A function URL (payload 2.0) event, as Lambda builds it from an HTTP request. */
export function functionUrlEvent(init: EventInit): LambdaFunctionURLEvent {
  const method = init.method ?? 'POST';
  const raw = init.body === undefined ? undefined : Buffer.isBuffer(init.body) ? init.body : Buffer.from(init.body);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: init.path,
    rawQueryString: init.query ?? '',
    ...(init.cookies && { cookies: init.cookies }),
    headers: { host: 'abc123.lambda-url.us-east-1.on.aws', ...init.headers },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'abc123',
      domainName: 'abc123.lambda-url.us-east-1.on.aws',
      domainPrefix: 'abc123',
      http: { method, path: init.path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: 'r1',
      routeKey: '$default',
      stage: '$default',
      time: '27/Nov/2026:08:00:00 +0000',
      timeEpoch: Date.now(),
    },
    isBase64Encoded: init.base64 === true,
    ...(raw && { body: init.base64 ? raw.toString('base64') : raw.toString('utf8') }),
  };
}
