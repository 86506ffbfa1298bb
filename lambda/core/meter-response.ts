import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { Metered } from '../formats/types';
import { createDecoder } from '../metering/decode';
import { meteredBody, type BodyOutcome } from '../metering/metered-body';
import { createFramer, framingFor, type Framing } from '../metering/framing';
import { formatUsd } from '../pricing/money';
import type { Pricer } from '../pricing/pricer';
import type { Usage } from '@pydantic/genai-prices';
import type { KeyRecord, Scope, Store } from '../store/port';
import { bytes, type GatewayResponse } from './http-types';
import type { Logger } from './log';
import type { ParsedRoute } from './route';
import type { UpstreamResponse } from './upstream';

export interface MeterContext {
  readonly route: ParsedRoute;
  readonly operation: string;
  /** The operation streams even when its content type does not say so. */
  readonly streams: boolean;
  readonly requestModel: string;
  readonly key: KeyRecord;
  readonly store: Store;
  readonly pricer: Pricer;
  readonly startedAt: Date;
  readonly logger: Logger;
}

/** What a settled request cost, for the spend write and for tests that check it. */
export interface Settlement {
  readonly nanos: number;
  readonly model: string;
  readonly outcome: BodyOutcome['kind'];
  readonly priced: boolean;
  readonly usage?: Usage;
}

interface SettleContext extends MeterContext {
  readonly status: number;
}

const SPEND_WRITE_ATTEMPTS = 4;

/**
 * Streams (SSE) pass through chunk by chunk while their usage is read on the side. Other
 * successful responses are JSON documents of bounded size: they are read whole so the cost can
 * travel in a response header, which must be sent before the body.
 */
export async function meterResponse(upstream: UpstreamResponse, requestContext: MeterContext): Promise<GatewayResponse> {
  const context: SettleContext = { ...requestContext, status: upstream.status };
  const ok = upstream.status >= 200 && upstream.status < 300;
  const contentType = headerString(upstream.headers['content-type']);
  if (!ok) return passThrough(upstream, () => {}, async (outcome) => settle(context, {}, outcome));
  const framing = framingFor(contentType, context.streams);
  if (framing) return meterStream(upstream, framing, context);
  return meterDocument(upstream, context);
}

function passThrough(
  upstream: UpstreamResponse,
  observe: (chunk: Uint8Array) => void,
  onEnd: (outcome: BodyOutcome) => Promise<void>,
): GatewayResponse {
  return { status: upstream.status, headers: upstream.headers, body: meteredBody(upstream.body, observe, onEnd) };
}

function meterStream(upstream: UpstreamResponse, framing: Framing, context: SettleContext): GatewayResponse {
  const reader = context.route.format.streamReader(context.operation);
  const parser = createFramer(framing, (message) => reader.onMessage(message));
  const decoder = createDecoder(headerString(upstream.headers['content-encoding']), (chunk) => parser.push(chunk));
  return passThrough(upstream, (chunk) => decoder.push(chunk), async (outcome) => {
    const decoded = await decoder.end();
    parser.end();
    if (!decoded.ok) context.logger.error('stream_decode_failed', { route: context.route.route });
    await settle(context, reader.result(), outcome);
  });
}

async function meterDocument(upstream: UpstreamResponse, context: SettleContext): Promise<GatewayResponse> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of upstream.body) chunks.push(chunk);
  const raw = Buffer.concat(chunks);
  const document = parseDocument(raw, headerString(upstream.headers['content-encoding']));
  const metered = context.route.format.usageFromBody(context.operation, document, upstream.headers);
  const cost = price(context, metered);
  const headers = { ...upstream.headers };
  if (cost.priced) {
    const usd = formatUsd(cost.nanos);
    headers['x-tollgate-cost-usd'] = usd;
    // The header pydantic-ai reads from the Pydantic AI Gateway.
    headers['pydantic-ai-gateway-price-estimate'] = `${usd}USD`;
  }
  return {
    status: upstream.status,
    headers,
    body: meteredBody(bytes(raw), () => {}, async (outcome) => record(context, cost, outcome)),
  };
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

function price(context: SettleContext, metered: Metered): Omit<Settlement, 'outcome'> {
  const model = metered.model ?? context.requestModel;
  const priced = metered.usage && context.pricer.price(context.route.provider.pricingId, model, metered.usage);
  if (!priced) return { nanos: 0, model, priced: false };
  return { nanos: priced.nanos, model, priced: true, usage: priced.usage };
}

async function settle(context: SettleContext, metered: Metered, outcome: BodyOutcome): Promise<void> {
  // An error event inside a 200 stream is a failed request, whatever the transport saw.
  const effective: BodyOutcome = metered.failure !== undefined ? { kind: 'upstream-failed', error: metered.failure } : outcome;
  await record(context, price(context, metered), effective);
}

async function record(context: SettleContext, cost: Omit<Settlement, 'outcome'>, outcome: BodyOutcome): Promise<void> {
  const { key, logger } = context;
  const scopes: Scope[] = [
    { kind: 'key', id: key.id },
    { kind: 'project', id: key.project },
    ...(key.user !== undefined ? [{ kind: 'user' as const, id: key.user }] : []),
  ];
  // The one event every settled request emits: dashboards and metrics are built from it.
  const fields = {
    route: context.route.route,
    provider: context.route.provider.id,
    status: context.status,
    duration_ms: Date.now() - context.startedAt.getTime(),
    input_tokens: cost.usage?.['input_tokens'],
    output_tokens: cost.usage?.['output_tokens'],
    model: cost.model,
    key_id: key.id,
    project: key.project,
    nanos: cost.nanos,
    priced: cost.priced,
    outcome: outcome.kind,
  };
  if (!cost.priced && outcome.kind === 'complete') logger.error('usage_not_priced', fields);
  for (let attempt = 1; ; attempt++) {
    try {
      await context.store.recordSpend({ scopes, at: context.startedAt, nanos: cost.nanos });
      logger.info('request_settled', fields);
      return;
    } catch (error) {
      if (attempt >= SPEND_WRITE_ATTEMPTS) {
        logger.error('spend_write_failed', { ...fields, message: error instanceof Error ? error.message : String(error) });
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
    }
  }
}

function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
