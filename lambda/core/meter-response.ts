import type { Usage } from '@pydantic/genai-prices';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { UnpricedPolicy } from '../config/config';
import type { Metered } from '../formats/types';
import type { Policy } from '../limits/plan';
import { createDecoder } from '../metering/decode';
import { createFramer, framingFor, type Framing } from '../metering/framing';
import { meteredBody, settledDocument, type BodyOutcome } from '../metering/metered-body';
import { formatUsd } from '../pricing/money';
import type { Pricer } from '../pricing/pricer';
import type { Reservation, Store } from '../store/port';
import type { GatewayResponse } from './http-types';
import type { LogFields, Logger } from './log';
import type { ParsedRoute } from './route';
import type { UpstreamResponse } from './upstream';

export interface MeterContext {
  readonly route: ParsedRoute;
  readonly operation: string;
  /** The operation streams even when its content type does not say so. */
  readonly streams: boolean;
  readonly requestModel: string;
  /** The most output the request can be billed for, when it caps its output (see budgetRequest). */
  readonly outputBound: number | undefined;
  readonly policy: Policy;
  readonly reservation: Reservation;
  readonly unpriced: UnpricedPolicy;
  readonly store: Store;
  readonly pricer: Pricer;
  readonly logger: Logger;
  readonly clock: () => Date;
  /** Called once the request is settled (or found unbillable): frees the key's in-flight slot. */
  readonly release: () => void;
}

interface Charge {
  readonly nanos: number;
  readonly model: string;
  /** Why the charge is what it is: usage priced, nothing to bill, or a fallback. */
  readonly basis: 'usage' | 'upstream-error' | 'unpriced-model' | 'usage-missing' | 'not-forwarded' | 'no-response';
  readonly usage?: Usage;
  /** The output the usage claimed, when that was more than the request allowed and was cut to the bound. */
  readonly reportedOutputTokens?: number;
}

/** How the exchange ended: the body's outcome, or no body at all (never sent; sent but never answered). */
type Outcome = BodyOutcome['kind'] | 'not-forwarded' | 'no-response';

const SPEND_WRITE_ATTEMPTS = 4;

/**
 * Streams pass through chunk by chunk while their usage is read on the side. Other successful
 * responses are JSON documents of bounded size: they are read whole so the cost can travel in a
 * response header, which must be sent before the body. Either way the reservation is settled
 * when the body's iteration ends.
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

function meterStream(upstream: UpstreamResponse, framing: Framing, context: MeterContext): GatewayResponse {
  const reader = context.route.format.streamReader(context.operation);
  const parser = createFramer(framing, (message) => reader.onMessage(message));
  const decoder = createDecoder(headerString(upstream.headers['content-encoding']), (chunk) => parser.push(chunk));
  return passThrough(upstream, (chunk) => decoder.push(chunk), async (outcome) => {
    const decoded = await decoder.end();
    parser.end();
    if (!decoded.ok) context.logger.error('stream_decode_failed', { route: context.route.route });
    await settle(context, upstream.status, reader.result(), outcome);
  });
}

async function meterDocument(upstream: UpstreamResponse, context: MeterContext): Promise<GatewayResponse> {
  const whole = await upstream.bytes();
  const raw = Buffer.from(whole.buffer, whole.byteOffset, whole.byteLength);
  const document = parseDocument(raw, headerString(upstream.headers['content-encoding']));
  const charge = chargeFor(context, upstream.status, context.route.format.usageFromBody(context.operation, document, upstream.headers));
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

async function settle(context: MeterContext, status: number, metered: Metered, outcome: BodyOutcome): Promise<void> {
  // An error event inside a 200 stream is a failed request, whatever the transport saw.
  const kind = metered.failure !== undefined ? 'upstream-failed' : outcome.kind;
  await record(context, status, chargeFor(context, status, metered), kind);
}

/**
 * What a response costs. Upstream errors are not billed. A response with usage costs its price.
 * A successful response without readable usage (a cut stream, an odd body) is charged its
 * reservation's estimate: an upper bound, so caps stay caps when metering goes blind.
 */
function chargeFor(context: MeterContext, status: number, metered: Metered): Charge {
  const model = metered.model ?? context.requestModel;
  if (status < 200 || status >= 300) return { nanos: 0, model, basis: 'upstream-error' };
  const priced = metered.usage && context.pricer.price(context.route.provider.pricingId, model, metered.usage, context.outputBound);
  if (priced) return { nanos: priced.nanos, model, basis: 'usage', usage: priced.usage, reportedOutputTokens: priced.reportedOutputTokens };
  if (!context.pricer.knows(context.route.provider.pricingId, model)) return { nanos: 0, model, basis: 'unpriced-model' };
  return { nanos: context.reservation.estimateNanos, model, basis: 'usage-missing' };
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
  const { policy, logger } = context;
  // The one event every settled request emits: dashboards and metrics are built from it.
  const fields: LogFields & { outcome: Outcome } = {
    route: context.route.route,
    provider: context.route.provider.id,
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
  };
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
  if (charge.basis === 'unpriced-model' || charge.basis === 'usage-missing') {
    logger.error('cost_not_calculated', fields);
    if (context.unpriced.kind === 'block') await blockKey(context, context.unpriced.minutes);
  }
  try {
    await settleReservation(context, charge.nanos, fields);
  } finally {
    context.release();
  }
}

/**
 * Settles with retries; a write that still fails is logged loudly (and alarmed on in AWS), never
 * dropped silently. `fields` (the request's log fields, `outcome` among them) are logged as given,
 * under `settledEvent` once the write is done.
 */
export async function settleReservation(
  context: Pick<MeterContext, 'store' | 'reservation' | 'logger'>,
  nanos: number,
  fields: LogFields,
  settledEvent = 'request_settled',
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const settled = await context.store.settle(context.reservation, nanos);
      // Not ours to settle: it outlived its expiry and the reconciler charged its estimate.
      if (!settled) context.logger.error('reservation_already_settled', { ...fields, reservation: context.reservation.id });
      else context.logger.info(settledEvent, fields);
      return;
    } catch (error) {
      if (attempt >= SPEND_WRITE_ATTEMPTS) {
        context.logger.error('spend_write_failed', { ...fields, nanos, reservation: context.reservation.id, message: error instanceof Error ? error.message : String(error) });
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

function parseDocument(raw: Buffer, encoding: string | undefined): unknown {
  try {
    return JSON.parse(decodeWhole(raw, encoding?.trim().toLowerCase()).toString('utf8'));
  } catch {
    return undefined;
  }
}

function decodeWhole(raw: Buffer, encoding: string | undefined): Buffer {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(raw);
    case 'deflate':
      return inflateSync(raw);
    case 'br':
      return brotliDecompressSync(raw);
    default:
      return raw;
  }
}

function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
