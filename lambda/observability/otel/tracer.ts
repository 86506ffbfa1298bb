import type { Usage } from '@pydantic/genai-prices';
import type { IncomingHeaders } from '../../core/http-types';
import type { FormatId } from '../../formats/types';
import type { ProviderId } from '../../providers/types';
import { formatUsd } from '../../pricing/money';
import type { Claim, Reservation, ReserveOutcome } from '../../store/port';
import { genAiOperation, GENAI_PROVIDER_NAMES, requestAttributes, responseFactsReader, type ResponseFactsReader } from './genai';
import { Double, nowMs, SpanKind, StatusCode, type Attributes, type SpanData } from './span';
import { formatTraceparent, newSpanId, newTraceId, parseTraceparent, parseTracestate } from './trace-context';

/**
 * What the gateway tells the tracer about one request. When tracing is off every method is an
 * empty function on one shared object ({@link NOOP_TRACE}): the hot path pays a few calls.
 *
 * ```
 * startRequest ─▶ routed ─▶ identified ─▶ requested ─▶ reserved ─▶ attempt ─▶ responded / failed
 *                                                                     (again, on failover)
 *      response body ends ─▶ settled (usage, cost: the request span and its attempts end here)
 *      or an error response ─▶ end
 * ```
 *
 * @example
 * const trace = tracer.startRequest(request);
 * trace.routed({ route: 'openai', format: 'openai', operation: 'chat' });
 * const attempt = trace.attempt({ account: 'openai', kind: 'openai', model: 'gpt-4o', baseUrl: new URL('https://api.openai.com/v1') });
 * headers['traceparent'] = attempt.traceparent;   // the provider sees the attempt as its parent
 * attempt.responded(200);
 * // … when the body has ended and the spend is known:
 * trace.settled({ status: 200, nanos: 7_375_000, estimateNanos: 9_000_000, basis: 'usage', model: 'gpt-4o', outcome: 'complete' });
 */
export interface RequestTrace {
  /** Our span as the client's `traceparent` response header; undefined when nothing is recorded. */
  readonly traceparent: string | undefined;
  routed(route: RouteFacts): void;
  /** The key that was presented, once authenticated: picks the project's destination and whether bodies are kept. */
  identified(key: KeyFacts): void;
  /** What the request asks the model for, from its parsed body (and the raw body, kept only if the project asked for bodies). */
  requested(request: RequestFacts): void;
  /**
   * The store's answer to a reservation: the estimate, every cap it was checked against and, when
   * granted, what each has left; when refused, the cap that refused. `outcome` is undefined when
   * the store gave no answer (it failed).
   */
  reserved(reservation: Reservation, outcome: ReserveOutcome | undefined): void;
  attempt(target: AttemptTarget): AttemptTrace;
  /** A reader for the response's id and finish reasons, fed the stream messages or the document metering sees; undefined when not recording. */
  responseReader(shape: 'stream' | 'document'): ResponseFactsReader | undefined;
  /** The response body as the client gets it; copied up to the size limit when the project keeps bodies, else returned as is. */
  captureBody(body: AsyncIterable<Uint8Array>, contentEncoding: string | undefined): AsyncIterable<Uint8Array>;
  /** The request's spend is known: ends the request span and any attempt still open. */
  settled(settlement: Settlement): void;
  /** Ends the spans with a response the gateway made (an error, a free call's end). Does nothing once ended. */
  end(result: EndResult): void;
}

export interface AttemptTrace {
  /** For the upstream request's `traceparent` header: this attempt as the provider's parent. */
  readonly traceparent: string | undefined;
  /** The provider's response headers arrived. The attempt stays open until the request ends (a stream lasts that long). */
  responded(status: number): void;
  /** The attempt ended without a response (or with one the gateway fails over from). */
  failed(failure: { readonly status?: number; readonly code: string; readonly reachedProvider?: boolean }): void;
}

export interface RouteFacts {
  readonly route: string;
  readonly format: FormatId;
  /** Undefined for free endpoints (listing models, counting tokens). */
  readonly operation: string | undefined;
}

export interface KeyFacts {
  readonly id: string;
  readonly project: string;
  readonly user?: string | undefined;
}

export interface RequestFacts {
  readonly format: FormatId;
  readonly operation: string;
  readonly model: string;
  readonly body: Record<string, unknown>;
  readonly raw: Buffer | undefined;
}

export interface AttemptTarget {
  /** The account's name. */
  readonly account: string;
  readonly kind: ProviderId;
  /** The model this attempt asks for. */
  readonly model: string | undefined;
  /** The account's configured base URL: its origin is read only when the attempt is recorded (a getter that costs as much as the rest of a no-op attempt). */
  readonly baseUrl: URL;
}

/** What `record()` in meter-response settles: the same figures as the spend row. */
export interface Settlement {
  /** The status the client got. */
  readonly status: number;
  readonly nanos: number;
  readonly estimateNanos: number;
  /** Why the charge is what it is (`usage`, `usage-missing`, …). */
  readonly basis: string;
  /** The model the response was priced as. */
  readonly model: string;
  readonly usage?: Usage | undefined;
  /** How the exchange ended (`complete`, `client-left`, `upstream-failed`, …). */
  readonly outcome: string;
  readonly reportedOutputTokens?: number | undefined;
}

export interface EndResult {
  readonly status: number;
  /** The gateway's error code and message, as the client got them. */
  readonly error?: { readonly code: string; readonly message: string } | undefined;
  readonly outcome?: string;
}

export interface RequestStart {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHeaders;
}

/** Where finished spans go: the tracer routes a request's spans by its project (undefined before the key is known). */
export interface SpanSink {
  accepts(project: string | undefined): boolean;
  export(spans: readonly SpanData[], project: string | undefined): void;
  /** Bodies kept for a project's spans, cut at this many bytes; undefined: none. */
  bodyLimit(project: string | undefined): number | undefined;
}

export interface Tracer {
  startRequest(request: RequestStart): RequestTrace;
}

const NOOP_ATTEMPT: AttemptTrace = { traceparent: undefined, responded() {}, failed() {} };

/** Tracing off, or a request its caller did not sample. */
export const NOOP_TRACE: RequestTrace = {
  traceparent: undefined,
  routed() {},
  identified() {},
  requested() {},
  reserved() {},
  attempt: () => NOOP_ATTEMPT,
  responseReader: () => undefined,
  captureBody: (body) => body,
  settled() {},
  end() {},
};

export const NOOP_TRACER: Tracer = { startRequest: () => NOOP_TRACE };

/** A request span and its attempts, recorded, handed to `sink` when the request ends. */
export function recordingTracer(sink: SpanSink, options: { readonly respectParentSampling: boolean }): Tracer {
  return {
    startRequest(request) {
      const parent = parseTraceparent(request.headers['traceparent']);
      if (parent && options.respectParentSampling && (parent.flags & 1) === 0) return NOOP_TRACE;
      return new RecordedRequest(sink, request, parent?.traceId ?? newTraceId(), parent?.spanId, parent ? parseTracestate(request.headers['tracestate']) : undefined);
    },
  };
}

/** Longest `url.path` kept: the rest of a path says nothing a trace needs. */
const MAX_PATH = 1024;

class RecordedRequest implements RequestTrace {
  readonly traceparent: string;
  private readonly spanId = newSpanId();
  private readonly startMs = nowMs();
  private readonly attributes: Attributes;
  private readonly attempts: RecordedAttempt[] = [];
  private operation: string | undefined;
  private model: string | undefined;
  private route: string | undefined;
  private project: string | undefined;
  private bodyLimit: number | undefined;
  private reader: ResponseFactsReader | undefined;
  private format: FormatId | undefined;
  private responseBody: { readonly kept: Uint8Array[]; size: number } | undefined;
  private ended = false;

  constructor(
    private readonly sink: SpanSink,
    request: RequestStart,
    readonly traceId: string,
    private readonly parentSpanId: string | undefined,
    private readonly traceState: string | undefined,
  ) {
    this.traceparent = formatTraceparent(traceId, this.spanId, true);
    const queryAt = request.url.indexOf('?');
    // The path only: a query may carry a key (`?key=`), and nothing in it is needed to find a request.
    const path = queryAt === -1 ? request.url : request.url.slice(0, queryAt);
    this.attributes = {
      'http.request.method': request.method,
      'url.path': path.length > MAX_PATH ? path.slice(0, MAX_PATH) : path,
    };
  }

  routed(route: RouteFacts): void {
    this.route = route.route;
    this.format = route.format;
    this.attributes['tollgate.route'] = route.route;
    this.attributes['tollgate.format'] = route.format;
    if (route.operation !== undefined) {
      this.operation = route.operation;
      this.attributes['tollgate.operation'] = route.operation;
      this.attributes['gen_ai.operation.name'] = genAiOperation(route.operation);
    }
  }

  identified(key: KeyFacts): void {
    this.project = key.project;
    this.bodyLimit = this.sink.bodyLimit(key.project);
    this.attributes['tollgate.key.id'] = key.id;
    this.attributes['tollgate.project'] = key.project;
    if (key.user !== undefined) this.attributes['tollgate.user'] = key.user;
  }

  requested(request: RequestFacts): void {
    this.model = request.model;
    this.attributes['gen_ai.request.model'] = request.model;
    requestAttributes(request.format, request.operation, request.body, this.attributes);
    if (this.bodyLimit !== undefined && request.raw) Object.assign(this.attributes, bodyAttributes('tollgate.request.body', [request.raw], this.bodyLimit));
  }

  reserved(reservation: Reservation, outcome: ReserveOutcome | undefined): void {
    const a = this.attributes;
    a['tollgate.estimate.nanos'] = reservation.estimateNanos;
    a['tollgate.estimate.usd'] = new Double(reservation.estimateNanos / 1e9);
    a['tollgate.caps.checked'] = reservation.claims.map(describeCap);
    // Each set or cleared: a failover reserves again, and the span keeps the last attempt's answer.
    a['tollgate.caps.refused'] = outcome && !outcome.ok ? describeCap(outcome.refused) : undefined;
    const granted = outcome?.ok ? outcome : undefined;
    // Parallel to `caps.checked`: integers to chart and alert on, and the same figures as people read them.
    a['tollgate.caps.remaining'] = granted?.standing.map((standing) => standing.remaining);
    a['tollgate.caps.remaining_text'] = granted?.standing.map((standing, i) => {
      const unit = reservation.claims[i]?.unit;
      return unit === 'nanos' ? `$${formatUsd(standing.remaining)}` : `${standing.remaining} ${unit === 'requests' ? 'requests' : 'in flight'}`;
    });
  }

  attempt(target: AttemptTarget): AttemptTrace {
    // A routing group moved on: the attempt before this one is over, whatever it answered.
    this.attempts[this.attempts.length - 1]?.supersede();
    const attempt = new RecordedAttempt(this.traceId, this.spanId, this.traceState, this.attempts.length + 1, target, this.operation);
    this.attempts.push(attempt);
    return attempt;
  }

  responseReader(shape: 'stream' | 'document'): ResponseFactsReader | undefined {
    this.attributes['tollgate.stream'] = shape === 'stream';
    if (this.format === undefined || this.operation === undefined) return undefined;
    this.reader ??= responseFactsReader(this.format, this.operation);
    return this.reader;
  }

  captureBody(body: AsyncIterable<Uint8Array>, contentEncoding: string | undefined): AsyncIterable<Uint8Array> {
    const limit = this.bodyLimit;
    if (limit === undefined) return body;
    if (contentEncoding !== undefined && contentEncoding !== 'identity') {
      this.attributes['tollgate.response.body.omitted'] = `content-encoding ${contentEncoding}`;
      return body;
    }
    // Kept on the request as the chunks pass, and read when the request ends: the settlement that
    // ends it runs inside the last `next()`, before this generator's own loop could finish.
    const kept: Uint8Array[] = [];
    this.responseBody = { kept, size: 0 };
    const seen = this.responseBody;
    return {
      async *[Symbol.asyncIterator]() {
        for await (const chunk of body) {
          if (seen.size < limit) kept.push(chunk.subarray(0, limit - seen.size));
          seen.size += chunk.byteLength;
          yield chunk;
        }
      },
    };
  }

  settled(settlement: Settlement): void {
    if (this.ended) return;
    const a = this.attributes;
    a['gen_ai.response.model'] = this.reader?.facts.model ?? settlement.model;
    if (this.reader?.facts.id !== undefined) a['gen_ai.response.id'] = this.reader.facts.id;
    if (this.reader && this.reader.facts.finishReasons.length > 0) a['gen_ai.response.finish_reasons'] = this.reader.facts.finishReasons;
    const usage = settlement.usage;
    if (usage) {
      a['gen_ai.usage.input_tokens'] = usage['input_tokens'];
      a['gen_ai.usage.output_tokens'] = usage['output_tokens'];
      a['gen_ai.usage.cache_read.input_tokens'] = usage['cache_read_tokens'];
      a['gen_ai.usage.cache_creation.input_tokens'] = usage['cache_write_tokens'];
    }
    if (settlement.reportedOutputTokens !== undefined) a['tollgate.usage.reported_output_tokens'] = settlement.reportedOutputTokens;
    a['tollgate.cost.nanos'] = settlement.nanos;
    a['tollgate.cost.usd'] = new Double(settlement.nanos / 1e9);
    a['tollgate.cost.basis'] = settlement.basis;
    a['tollgate.priced_model'] = settlement.model;
    if (settlement.estimateNanos !== a['tollgate.estimate.nanos']) a['tollgate.estimate.nanos'] = settlement.estimateNanos;
    this.finish({ status: settlement.status, outcome: settlement.outcome });
  }

  end(result: EndResult): void {
    if (this.ended) return;
    this.finish(result);
  }

  private finish(result: EndResult): void {
    this.ended = true;
    const endMs = nowMs();
    const a = this.attributes;
    a['http.response.status_code'] = result.status;
    if (result.outcome !== undefined) a['tollgate.outcome'] = result.outcome;
    if (this.responseBody && this.bodyLimit !== undefined) {
      Object.assign(a, bodyAttributes('tollgate.response.body', this.responseBody.kept, this.bodyLimit, this.responseBody.size));
    }
    const last = this.attempts[this.attempts.length - 1];
    if (last) {
      a['tollgate.account'] = last.target.account;
      a['gen_ai.provider.name'] = GENAI_PROVIDER_NAMES[last.target.kind];
      a['gen_ai.system'] = GENAI_PROVIDER_NAMES[last.target.kind];
      a['tollgate.attempts'] = this.attempts.length;
    }
    // HTTP server conventions: a 4xx is the client's doing (a refused key, a spent cap), not the server's error;
    // it still names its error, and says what the client was told.
    const failed = result.status >= 500 || result.outcome === 'upstream-failed';
    if (result.error) {
      a['error.type'] = result.error.code;
      if (!failed) a['tollgate.error.message'] = result.error.message;
    } else if (failed) {
      a['error.type'] = result.outcome === 'upstream-failed' ? 'upstream_failed' : String(result.status);
    }
    const spans: SpanData[] = [
      {
        traceId: this.traceId,
        spanId: this.spanId,
        parentSpanId: this.parentSpanId,
        traceState: this.traceState,
        name: this.spanName(),
        kind: SpanKind.server,
        startMs: this.startMs,
        endMs,
        attributes: a,
        status: failed ? StatusCode.error : StatusCode.unset,
        // A literal, not a spread of a maybe-object: that takes V8's slow path on every span.
        statusMessage: failed && result.error ? result.error.message : undefined,
      },
    ];
    for (const attempt of this.attempts) spans.push(attempt.finish(endMs, result));
    if (this.sink.accepts(this.project)) this.sink.export(spans, this.project);
  }

  private spanName(): string {
    if (this.operation !== undefined && this.model !== undefined) return `${genAiOperation(this.operation)} ${this.model}`;
    return this.route === undefined ? `${this.attributes['http.request.method']} gateway` : `${this.attributes['http.request.method']} /proxy/${this.route}`;
  }
}

class RecordedAttempt implements AttemptTrace {
  readonly traceparent: string;
  private readonly spanId = newSpanId();
  private readonly startMs = nowMs();
  private endMs: number | undefined;
  private status: number | undefined;
  private failure: { readonly code: string; readonly reachedProvider?: boolean } | undefined;

  constructor(
    private readonly traceId: string,
    private readonly parentSpanId: string,
    private readonly traceState: string | undefined,
    private readonly number: number,
    readonly target: AttemptTarget,
    private readonly operation: string | undefined,
  ) {
    this.traceparent = formatTraceparent(traceId, this.spanId, true);
  }

  responded(status: number): void {
    this.status = status;
  }

  /** Another attempt follows this one: it failed over (a 429, a 5xx, or a status its member fails over on). */
  supersede(): void {
    if (this.endMs !== undefined) return;
    this.endMs = nowMs();
    this.failure = { code: this.status === undefined ? 'failed_over' : String(this.status) };
  }

  failed(failure: { readonly status?: number; readonly code: string; readonly reachedProvider?: boolean }): void {
    if (this.endMs !== undefined) return;
    this.endMs = nowMs();
    if (failure.status !== undefined) this.status = failure.status;
    this.failure = failure;
  }

  /** The attempt's span; one still open ends with its request. */
  finish(requestEndMs: number, result: EndResult): SpanData {
    const provider = GENAI_PROVIDER_NAMES[this.target.kind];
    const operation = this.operation === undefined ? undefined : genAiOperation(this.operation);
    const { host, port } = serverOf(this.target.baseUrl);
    const failed = this.failure !== undefined || (this.status !== undefined && this.status >= 500) || result.outcome === 'upstream-failed';
    const attributes: Attributes = {
      'gen_ai.provider.name': provider,
      'gen_ai.system': provider,
      'gen_ai.operation.name': operation,
      'gen_ai.request.model': this.target.model,
      'server.address': host,
      'server.port': port,
      'http.response.status_code': this.status,
      'tollgate.account': this.target.account,
      'tollgate.attempt': this.number,
      'error.type': this.failure?.code ?? (failed ? (this.status !== undefined && this.status >= 500 ? String(this.status) : 'upstream_failed') : undefined),
      'tollgate.reached_provider': this.failure?.reachedProvider,
    };
    return {
      traceId: this.traceId,
      spanId: this.spanId,
      parentSpanId: this.parentSpanId,
      traceState: this.traceState,
      name: `${operation ?? 'request'} ${this.target.account}`,
      kind: SpanKind.client,
      startMs: this.startMs,
      endMs: this.endMs ?? requestEndMs,
      attributes,
      status: failed ? StatusCode.error : StatusCode.unset,
    };
  }
}

type Server = { readonly host: string | undefined; readonly port: number | undefined };

const SERVERS = new Map<string, Server>();
/** By the account's URL object first: reading `origin` builds a new string each time, and hashing it costs more than the rest. */
const SERVERS_BY_URL = new WeakMap<URL, Server>();

/** `server.address` and `server.port` of an account's origin, parsed once per origin (a URL parse costs microseconds). */
function serverOf(baseUrl: URL): Server {
  let server = SERVERS_BY_URL.get(baseUrl);
  if (server) return server;
  const origin = baseUrl.origin;
  server = SERVERS.get(origin);
  if (!server) {
    const url = URL.canParse(origin) ? new URL(origin) : undefined;
    server = { host: url?.hostname, port: url && (url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port)) };
    // Origins come from the config: a handful. The bound is for safety, not expected to bite.
    if (SERVERS.size < 1000) SERVERS.set(origin, server);
  }
  SERVERS_BY_URL.set(baseUrl, server);
  return server;
}

/** A cap as `tollgate.caps.checked` names it: `key:k1 day:2026-12-03 ≤ $10.00`, `key:k1 inflight ≤ 4 in flight`. */
function describeCap(claim: Claim): string {
  const limit = claim.unit === 'nanos' ? `$${formatUsd(claim.limit)}` : `${claim.limit} ${claim.unit === 'requests' ? 'requests' : 'in flight'}`;
  return `${claim.scope.kind}:${claim.scope.id} ${claim.period} ${claim.rule === 'within' ? '≤' : '<'} ${limit}`;
}

/** A body as text, cut at `limit` bytes (a character split by the cut shows as U+FFFD). */
function bodyAttributes(name: string, chunks: readonly Uint8Array[], limit: number, total?: number): Attributes {
  const bytes = Buffer.concat(chunks);
  const size = total ?? bytes.byteLength;
  const kept = bytes.subarray(0, limit);
  return { [name]: kept.toString('utf8'), [`${name}.size`]: size, [`${name}.truncated`]: size > kept.byteLength };
}
