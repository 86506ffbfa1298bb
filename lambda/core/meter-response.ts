import type { Usage } from '@pydantic/genai-prices';
import { brotliDecompress, gunzip, inflate } from 'node:zlib';
import type { MeteringSettings, ProviderSettings, UnpricedPolicy } from '../config/config';
import type { Metered, StreamUsageReader } from '../formats/types';
import type { Policy } from '../limits/plan';
import type { RequestTrace } from '../observability/otel/tracer';
import { accountLogFields } from '../observability/account-fields';
import { contentCoding, createDecoder, type ContentCoding, type Decoder } from '../metering/decode';
import { createFramer, framingFor, type Framer, type Framing, type StreamMessage } from '../metering/framing';
import { meteredBody, settledDocument, type BodyOutcome } from '../metering/metered-body';
import { messageAfter } from '../metering/stream-ending';
import { formatUsd, MAX_REQUEST_NANOS } from '../pricing/money';
import type { Pricer } from '../pricing/pricer';
import { applyTier, tierBasisPoints, type TierPrices } from '../pricing/tiers';
import type { UsageReading } from '../providers/types';
import type { Reservation, Store } from '../store/port';
import { GatewayError, GatewayTimeLimitError } from './errors';
import { settledBefore } from './failed-request';
import { logStoreUnavailable, StoreUnavailableError } from './store-unavailable';
import type { GatewayResponse } from './http-types';
import type { LogFields, Logger } from './log';
import type { ParsedRoute } from './route';
import { UpstreamFailedError, type UpstreamResponse } from './upstream';
import { UpstreamDeadlineError } from './upstream-deadline';

export interface MeterContext {
  readonly route: ParsedRoute;
  /** The account this attempt went to: what the request is billed and reported under. */
  readonly account: ProviderSettings;
  /** The genai-prices provider its models are priced under, for the format it was served in. */
  readonly pricingId: string;
  /** How usage is read from the response, when not by the route format's own readers. */
  readonly usageReading?: UsageReading;
  readonly operation: string;
  /** The operation streams even when its content type does not say so. */
  readonly streams: boolean;
  readonly requestModel: string;
  /** The most output the request can be billed for, when it caps its output (see budgetRequest). */
  readonly outputBound: number | undefined;
  readonly policy: Policy;
  readonly reservation: Reservation;
  /** The price of the service tier the request asked for, in basis points (undefined: a tier no table prices): a response that names none is charged at it. */
  readonly requestedTier: number | undefined;
  /** The API's documented tier prices, for the tier a response names; the account's own come first. */
  readonly serviceTiers: TierPrices | undefined;
  readonly unpriced: UnpricedPolicy;
  readonly store: Store;
  readonly pricer: Pricer;
  readonly logger: Logger;
  readonly clock: () => Date;
  /** Called once the exchange with the upstream is over, before its spend is written: frees the key's in-flight slot. */
  readonly release: () => void;
  /** What metering may buffer and inflate of this response before it gives up on it. */
  readonly metering: MeteringSettings;
  /** Which attempt of the request this is, counting from 1: more than one means a routing group failed over. */
  readonly attempts: number;
  /** The request's spans: told what the response says about itself, and its settlement. */
  readonly trace: RequestTrace;
}

interface Charge {
  readonly nanos: number;
  readonly model: string;
  /** Why the charge is what it is: usage priced, nothing to bill, or a fallback. */
  readonly basis: 'usage' | 'upstream-error' | 'unpriced-model' | 'unpriced-tier' | 'usage-missing' | 'metering-gave-up' | 'not-forwarded' | 'no-response';
  readonly usage?: Usage;
  /** The service tier the response says it ran at. */
  readonly tier?: string;
  /** The output the usage claimed, when that was more than the request allowed and was cut to the bound. */
  readonly reportedOutputTokens?: number;
}

/** How the exchange ended: the body's outcome, or no body at all (never sent; sent but never answered). */
type Outcome = BodyOutcome['kind'] | 'not-forwarded' | 'no-response';

/**
 * Why metering stopped reading a response before its end: a piece larger than `maxBufferedBytes`
 * (a document, an SSE line or event, a stream element), more inflated bytes than
 * `maxDecodedBytes`, or a parser or usage reader that threw. The bytes still pass untouched.
 */
type GiveUpReason = 'buffered-limit' | 'decoded-limit' | 'parser-error';

interface GiveUp {
  readonly reason: GiveUpReason;
  /** What a parser or reader threw; only its class is logged. */
  readonly error?: unknown;
}

/** What metering learnt from a stream once its bytes were all seen. */
type StreamReading = { readonly kind: 'read'; readonly metered: Metered; readonly decodeFailed: boolean } | ({ readonly kind: 'gave-up' } & GiveUp);

/** A document of unannounced length, read up to the limit: whole, or the body still to send. */
type Gathered = { readonly kind: 'whole'; readonly bytes: Buffer } | { readonly kind: 'over'; readonly body: AsyncIterable<Uint8Array> };

type Inflate = (raw: Buffer, options: { maxOutputLength: number }, callback: (error: Error | null, result: Buffer) => void) => void;

const SPEND_WRITE_ATTEMPTS = 4;

/**
 * Streams pass through chunk by chunk while their usage is read on the side. Other successful
 * responses are JSON documents: they are read whole so the cost can travel in a response header,
 * which must be sent before the body. Either way the reservation is settled when the body's
 * iteration ends. Metering holds and inflates no more than `context.metering` allows: past it
 * the bytes still pass untouched, and the request is charged its reservation's estimate.
 */
export async function meterResponse(upstream: UpstreamResponse, context: MeterContext): Promise<GatewayResponse> {
  const ok = upstream.status >= 200 && upstream.status < 300;
  const contentType = headerString(upstream.headers['content-type']);
  if (!ok) return passThrough(upstream, () => {}, (outcome) => settle(context, upstream.status, {}, outcome));
  const framing = framingFor(contentType, context.streams);
  if (framing) return meterStream(upstream, framing, context);
  return meterDocument(upstream, context);
}

function passThrough(upstream: UpstreamResponse, observe: (chunk: Uint8Array) => void, onEnd: (outcome: BodyOutcome) => Promise<void>): GatewayResponse {
  return { status: upstream.status, headers: upstream.headers, body: meteredBody(upstream.body, observe, onEnd) };
}

/**
 * A stream the upstream breaks after it began ends, for the client, with its API's own error
 * message (see `WireFormat.streamError`) where the bytes sent so far leave room for one; it is
 * billed like any stream: the usage seen so far, else the reservation.
 */
function meterStream(upstream: UpstreamResponse, framing: Framing, context: MeterContext): GatewayResponse {
  const { maxBufferedBytes, maxDecodedBytes } = context.metering;
  const { format } = context.route;
  const reader = (context.usageReading ?? format).streamReader(context.operation);
  // When tracing, a second reader takes the response's id and finish reasons from the same
  // messages, and the JSON the usage reader parsed of them, rather than parse it again.
  const facts = context.trace.responseReader('stream');
  const onMessage = facts ? (message: StreamMessage) => facts.message(message, reader.onMessage(message)) : (message: StreamMessage) => reader.onMessage(message);
  const parser = createFramer(framing, onMessage, maxBufferedBytes);
  const sink = (chunk: Uint8Array): boolean => {
    parser.push(chunk);
    return !parser.overflowed;
  };
  const encoding = headerString(upstream.headers['content-encoding']);
  const decoder = createDecoder(encoding, sink, maxDecodedBytes);
  let last: Uint8Array | undefined;
  const observe = (chunk: Uint8Array): void => {
    last = chunk;
    decoder.push(chunk);
  };
  const ending = (error: unknown): Uint8Array | undefined => {
    // Compressed bytes cannot take a plain message after them: such a stream is cut, as before.
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') return undefined;
    try {
      const message = format.streamError(context.operation, brokenStream(error), framing);
      return message && messageAfter(message, parser, last);
    } catch {
      return undefined;
    }
  };
  const onEnd = async (outcome: BodyOutcome): Promise<void> => {
    const reading = await readStream(decoder, parser, reader);
    if (reading.kind === 'gave-up') return gaveUp(context, upstream.status, reading, outcome.kind);
    if (reading.decodeFailed) context.logger.error('stream_decode_failed', { route: context.route.route });
    await settle(context, upstream.status, reading.metered, outcome);
  };
  return { status: upstream.status, headers: upstream.headers, body: meteredBody(upstream.body, observe, onEnd, ending) };
}

const TIME_LIMIT_REACHED = "The gateway's time limit for this request ran out; the response is incomplete.";

/**
 * Who cut a response short. The rule both kinds of response follow: the gateway's own limits
 * (its time for the request, its time for one response, the silence it waits through) are
 * `upstream_timeout` (504); the provider breaking off is `upstream_unreachable` (502).
 */
type Cut = 'time-limit' | 'response-limit' | 'silence' | 'provider';

function cutOf(error: unknown): Cut {
  if (error instanceof GatewayTimeLimitError) return 'time-limit';
  if (error instanceof UpstreamDeadlineError) return 'response-limit';
  const silent = typeof error === 'object' && error !== null && 'code' in error && error.code === 'UND_ERR_BODY_TIMEOUT';
  return silent ? 'silence' : 'provider';
}

/** What the client is told, in its API's stream error message, when its stream broke (see {@link cutOf}). */
function brokenStream(error: unknown): GatewayError {
  switch (cutOf(error)) {
    case 'time-limit':
      return new GatewayError('upstream_timeout', TIME_LIMIT_REACHED);
    case 'response-limit':
      return new GatewayError('upstream_timeout', 'The upstream response took longer than the gateway allows one response; the response is incomplete.');
    case 'silence':
      return new GatewayError('upstream_timeout', 'The upstream provider went silent in the middle of the stream; the response is incomplete.');
    case 'provider':
      return new GatewayError('upstream_unreachable', 'The upstream provider broke off the stream; the response is incomplete.');
  }
}

/**
 * What the client is told when a document broke off before the gateway had all of it (nothing
 * was sent yet), as {@link brokenStream} tells a stream: a 504 that names the gateway's limit, or
 * a 502 for the provider breaking off.
 */
function brokenDocument(error: unknown): UpstreamFailedError {
  switch (cutOf(error)) {
    case 'time-limit':
      return new UpstreamFailedError('upstream_timeout', "The gateway's time limit for this request ran out before the upstream provider finished its response.", true, error);
    case 'response-limit':
      return new UpstreamFailedError('upstream_timeout', 'The upstream response took longer than the gateway allows one response.', true, error);
    case 'silence':
      return new UpstreamFailedError('upstream_timeout', 'The upstream provider went silent in the middle of its response for longer than the gateway waits.', true, error);
    case 'provider':
      return new UpstreamFailedError('upstream_unreachable', 'The upstream provider broke off its response.', true, error);
  }
}

/** The stream's usage once its last byte went by, or why metering gave up on it. Never throws. */
async function readStream(decoder: Decoder, parser: Framer, reader: StreamUsageReader): Promise<StreamReading> {
  const decoded = await decoder.end();
  switch (decoded.kind) {
    case 'decoded-limit':
      return { kind: 'gave-up', reason: 'decoded-limit' };
    case 'sink-stopped':
      return { kind: 'gave-up', reason: 'buffered-limit' };
    case 'sink-failed':
      return { kind: 'gave-up', reason: 'parser-error', error: decoded.error };
    case 'complete':
    case 'corrupt':
      break;
  }
  try {
    // The last event may still be held, waiting for a blank line that never came.
    parser.end();
    if (parser.overflowed) return { kind: 'gave-up', reason: 'buffered-limit' };
    return { kind: 'read', metered: reader.result(), decodeFailed: decoded.kind === 'corrupt' };
  } catch (error) {
    return { kind: 'gave-up', reason: 'parser-error', error };
  }
}

async function meterDocument(upstream: UpstreamResponse, context: MeterContext): Promise<GatewayResponse> {
  const { maxBufferedBytes, maxDecodedBytes } = context.metering;
  const announced = contentLength(upstream.headers['content-length']);
  let raw: Buffer;
  try {
    if (announced !== undefined && announced <= maxBufferedBytes) {
      // The common case, read in one piece: undici's HTTP/1.1 parser hands over exactly Content-Length bytes.
      const whole = await upstream.bytes();
      raw = Buffer.from(whole.buffer, whole.byteOffset, whole.byteLength);
    } else {
      const gathered = announced === undefined ? await gather(upstream.body, maxBufferedBytes) : ({ kind: 'over', body: upstream.body } as const);
      if (gathered.kind === 'over') return unmetered(upstream, context, { reason: 'buffered-limit' }, gathered.body);
      raw = gathered.bytes;
    }
  } catch (error) {
    // The provider answered, then broke off (or went silent past the idle timeout, or outlasted
    // the gateway's time) inside its document: it ran the model, so the request is charged as a
    // response without usage.
    await record(context, upstream.status, chargeFor(context, upstream.status, {}), 'upstream-failed');
    throw settledBefore(brokenDocument(error));
  }
  const inflater = inflaterFor(headerString(upstream.headers['content-encoding']));
  let decoded: Buffer | undefined = raw;
  if (inflater) {
    // The document metering parses is bounded like any buffered piece, and inflating it like any stream.
    const inflated = await inflateAtMost(inflater, raw, Math.min(maxBufferedBytes, maxDecodedBytes));
    if (inflated === 'over-limit') return unmetered(upstream, context, { reason: 'decoded-limit' }, raw);
    decoded = inflated;
  }
  let metered: Metered;
  try {
    const document = decoded && parseJson(decoded);
    context.trace.responseReader('document')?.document(document);
    metered = (context.usageReading ?? context.route.format).usageFromBody(context.operation, document, upstream.headers);
  } catch (error) {
    return unmetered(upstream, context, { reason: 'parser-error', error }, raw);
  }
  const charge = chargeFor(context, upstream.status, metered);
  // clientHeaders built this object for this response alone: add to it rather than copy it.
  const headers = upstream.headers;
  if (charge.basis === 'usage') {
    const usd = formatUsd(charge.nanos);
    headers['x-tollgate-cost-usd'] = usd;
    // The header pydantic-ai reads from the Pydantic AI Gateway.
    headers['pydantic-ai-gateway-price-estimate'] = `${usd}USD`;
  }
  return {
    status: upstream.status,
    headers,
    body: settledDocument(raw, (outcome) => record(context, upstream.status, charge, outcome.kind)),
  };
}

/** The document as the upstream sent it, without a cost header: `body` is the document read whole, or what is still to send of it. */
function unmetered(upstream: UpstreamResponse, context: MeterContext, why: GiveUp, body: Buffer | AsyncIterable<Uint8Array>): GatewayResponse {
  const settle = (outcome: BodyOutcome): Promise<void> => gaveUp(context, upstream.status, why, outcome.kind);
  return { status: upstream.status, headers: upstream.headers, body: Buffer.isBuffer(body) ? settledDocument(body, settle) : meteredBody(body, ignore, settle) };
}

/**
 * Metering saw only part of the response, so its usage is unknown: the request is charged its
 * reservation's estimate, an upper bound, and the reason logged (never the body).
 */
async function gaveUp(context: MeterContext, status: number, why: GiveUp, outcome: Outcome): Promise<void> {
  context.logger.error('metering_gave_up', {
    route: context.route.route,
    ...accountLogFields(context.account),
    status,
    reason: why.reason,
    // Only the error's class: a parser's message can quote the body it choked on.
    error: why.error === undefined ? undefined : why.error instanceof Error ? why.error.name : typeof why.error,
    max_buffered_bytes: context.metering.maxBufferedBytes,
    max_decoded_bytes: context.metering.maxDecodedBytes,
  });
  await record(context, status, chargeFor(context, status, {}, true), outcome);
}

async function settle(context: MeterContext, status: number, metered: Metered, outcome: BodyOutcome): Promise<void> {
  // An error event inside a 200 stream is a failed request, whatever the transport saw.
  const kind = metered.failure !== undefined ? 'upstream-failed' : outcome.kind;
  await record(context, status, chargeFor(context, status, metered), kind);
}

/**
 * What a response costs. Upstream errors are not billed. A response with usage costs its price.
 * A successful response without readable usage (a cut stream, an odd body) is charged its
 * reservation's estimate: an upper bound, so caps stay caps when metering goes blind, as it does
 * when metering gave up on a response too large to read.
 */
function chargeFor(context: MeterContext, status: number, metered: Metered, meteringGaveUp = false): Charge {
  const model = modelToPrice(context, metered.model);
  if (status < 200 || status >= 300) return { nanos: 0, model, basis: 'upstream-error' };
  if (meteringGaveUp) return { nanos: context.reservation.estimateNanos, model, basis: 'metering-gave-up' };
  const priced = metered.usage && context.pricer.price(context.pricingId, model, metered.usage, context.outputBound);
  if (priced) {
    const tier = metered.tier;
    // The tier the response says ran, else the one asked for (already in the reservation).
    const points = tier === undefined ? context.requestedTier : tierBasisPoints(tier, context.account.tiers, context.serviceTiers);
    // A tier no table prices: its usage is known, its price is not; the estimate bounds it, as for a response without usage.
    if (points === undefined) return { nanos: context.reservation.estimateNanos, model, basis: 'unpriced-tier', usage: priced.usage, ...(tier !== undefined && { tier }) };
    const nanos = applyTier(priced.nanos, points);
    if (nanos <= MAX_REQUEST_NANOS) {
      return { nanos, model, basis: 'usage', usage: priced.usage, reportedOutputTokens: priced.reportedOutputTokens, ...(tier !== undefined && { tier }) };
    }
  }
  if (!context.pricer.knows(context.pricingId, model)) return { nanos: 0, model, basis: 'unpriced-model' };
  return { nanos: context.reservation.estimateNanos, model, basis: 'usage-missing' };
}

/**
 * The model a response is priced as: the one the provider says it ran (a dated snapshot is the
 * more exact price), unless no price is known for that name. Then the request's model, which was
 * priced before forwarding: a response naming an unknown model must not make the request free.
 */
function modelToPrice(context: MeterContext, reported: string | undefined): string {
  if (reported === undefined || reported === context.requestModel) return context.requestModel;
  return context.pricer.knows(context.pricingId, reported) ? reported : context.requestModel;
}

/**
 * Settles a request that got no response: never sent (nothing to bill), or sent and never
 * answered — the provider may have run it and may bill it, so it is charged its reservation.
 */
export async function recordUnanswered(context: MeterContext, status: number, reachedProvider: boolean): Promise<void> {
  const charge: Charge = reachedProvider
    ? { nanos: context.reservation.estimateNanos, model: context.requestModel, basis: 'no-response' }
    : { nanos: 0, model: context.requestModel, basis: 'not-forwarded' };
  await record(context, status, charge, reachedProvider ? 'no-response' : 'not-forwarded');
}

async function record(context: MeterContext, status: number, charge: Charge, outcome: Outcome): Promise<void> {
  // The exchange with the upstream is over: its slot is free before the spend write, which a
  // client already answered must not wait on (nor its next request behind it).
  context.release();
  const { policy, logger } = context;
  // The one event every settled request emits: dashboards and metrics are built from it.
  const fields: LogFields & { outcome: Outcome } = {
    route: context.route.route,
    ...accountLogFields(context.account),
    status,
    duration_ms: context.clock().getTime() - context.reservation.at.getTime(),
    input_tokens: charge.usage?.['input_tokens'],
    output_tokens: charge.usage?.['output_tokens'],
    model: charge.model,
    key_id: policy.key.id,
    project: policy.key.project,
    user: policy.key.user,
    nanos: charge.nanos,
    estimate_nanos: context.reservation.estimateNanos,
    priced: charge.basis === 'usage',
    basis: charge.basis,
    outcome,
    attempts: context.attempts,
  };
  if (charge.tier !== undefined) fields['service_tier'] = charge.tier;
  if (charge.reportedOutputTokens !== undefined) {
    fields['reported_output_tokens'] = charge.reportedOutputTokens;
    logger.error('usage_clamped', { ...fields, output_tokens_bound: context.outputBound });
  }
  // Possible when the request set no output cap (the provider's default is not known here) or
  // referenced media its bytes do not bound: the provider bills it, so it is recorded, and flagged.
  if (charge.nanos > context.reservation.estimateNanos) {
    fields['over_reservation_nanos'] = charge.nanos - context.reservation.estimateNanos;
    logger.error('spend_exceeded_reservation', fields);
  }
  // The request's span ends with the body, as the spend row is written: the two carry the same figures.
  context.trace.settled({
    status,
    nanos: charge.nanos,
    estimateNanos: context.reservation.estimateNanos,
    basis: charge.basis,
    model: charge.model,
    usage: charge.usage,
    outcome,
    reportedOutputTokens: charge.reportedOutputTokens,
  });
  if (charge.basis === 'unpriced-model' || charge.basis === 'unpriced-tier' || charge.basis === 'usage-missing') {
    logger.error('cost_not_calculated', fields);
    if (context.unpriced.kind === 'block') await blockKey(context, context.unpriced.minutes);
  }
  await settleReservation(context, charge.nanos, fields);
}

/**
 * Settles with retries; a write that still fails is logged loudly (and alarmed on in AWS), never
 * dropped silently. `fields` (the request's log fields, `outcome` among them) are logged as given,
 * under `settledEvent` once the write is done. A store that failed is logged once, as the
 * settlement ends, with how many attempts it took and whether the last was written: one request,
 * one `store_unavailable`, however many retries.
 */
export async function settleReservation(
  context: Pick<MeterContext, 'store' | 'reservation' | 'logger'>,
  nanos: number,
  fields: LogFields,
  settledEvent = 'request_settled',
): Promise<void> {
  let unavailable: StoreUnavailableError | undefined;
  const storeFailed = (attempts: number, written: boolean) => {
    if (unavailable) logStoreUnavailable(context.logger, unavailable.operation, unavailable.cause, { reservation: context.reservation.id, attempts, written });
  };
  for (let attempt = 1; ; attempt++) {
    try {
      const settled = await context.store.settle(context.reservation, nanos);
      storeFailed(attempt, true);
      // Not ours to settle: it outlived its expiry and the reconciler charged its estimate.
      if (!settled) context.logger.error('reservation_already_settled', { ...fields, reservation: context.reservation.id });
      else context.logger.info(settledEvent, fields);
      return;
    } catch (error) {
      if (error instanceof StoreUnavailableError) unavailable = error;
      if (attempt >= SPEND_WRITE_ATTEMPTS) {
        storeFailed(attempt, false);
        // The store's own error, not the 503 its wrapper turned it into: the log is for the operator.
        const cause = error instanceof GatewayError && error.cause !== undefined ? error.cause : error;
        context.logger.error('spend_write_failed', { ...fields, nanos, reservation: context.reservation.id, message: cause instanceof Error ? cause.message : String(cause) });
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
    }
  }
}

async function blockKey(context: MeterContext, minutes: number): Promise<void> {
  const until = new Date(context.clock().getTime() + minutes * 60_000).toISOString();
  try {
    await context.store.updateKey(context.policy.key.id, { blockedUntil: until });
    context.logger.error('key_blocked', { key_id: context.policy.key.id, until });
  } catch (error) {
    context.logger.error('key_block_failed', { key_id: context.policy.key.id, message: error instanceof Error ? error.message : String(error) });
  }
}

/** Reads a body of unannounced length up to `limit` bytes; past it, hands back the body still to send: what was read, then the rest. */
async function gather(body: AsyncIterable<Uint8Array>, limit: number): Promise<Gathered> {
  const iterator = body[Symbol.asyncIterator]();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const next = await iterator.next();
    if (next.done) return { kind: 'whole', bytes: Buffer.concat(chunks, size) };
    chunks.push(next.value);
    size += next.value.byteLength;
    if (size > limit) return { kind: 'over', body: resume(chunks, iterator) };
  }
}

async function* resume(read: readonly Uint8Array[], rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
  yield* read;
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
}

const INFLATERS: Readonly<Record<ContentCoding, Inflate>> = { gzip: gunzip, deflate: inflate, br: brotliDecompress };

function inflaterFor(header: string | undefined): Inflate | undefined {
  const coding = contentCoding(header);
  return coding && INFLATERS[coding];
}

/** Inflates off the main thread, stopping once the output would pass `limit`; undefined if the bytes do not decode. */
function inflateAtMost(inflater: Inflate, raw: Buffer, limit: number): Promise<Buffer | 'over-limit' | undefined> {
  return new Promise((resolve) => {
    inflater(raw, { maxOutputLength: limit }, (error, result) => {
      if (!error) resolve(result);
      else resolve((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? 'over-limit' : undefined);
    });
  });
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** A Content-Length the parser enforces: digits only, else treated as unannounced. */
function contentLength(value: string | string[] | undefined): number | undefined {
  const text = headerString(value);
  return text !== undefined && /^\d{1,15}$/.test(text) ? Number(text) : undefined;
}

function ignore(): void {}

function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
