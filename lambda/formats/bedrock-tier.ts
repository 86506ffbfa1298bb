import type { IncomingHeaders, OutgoingHeaders } from '../core/http-types';
import { tierPrices } from '../pricing/tiers';
import { isObject, tierField } from './shared';
import type { Metered, RequestView, TierReading } from './types';

/**
 * Bedrock's service tiers: Converse carries `serviceTier: { type }` and `performanceConfig:
 * { latency }` in its body, InvokeModel the `X-Amzn-Bedrock-Service-Tier` and
 * `X-Amzn-Bedrock-PerformanceConfig-Latency` headers; the response says which ran, the same way.
 * Priority is documented as the standard rate plus a premium (×2 here), flex as a discount of
 * undocumented size (×1 here, never under-charged), reserved as capacity bought by the month
 * (standard rates here), latency-optimized inference at a higher price by model (×2 here).
 * A request both prioritised and latency-optimized is `priority+latency-optimized`: both premiums.
 */
export const BEDROCK_TIERS: TierReading = {
  requestTier(_operation: string, { body }: RequestView, headers: IncomingHeaders): string | undefined {
    const config = body['serviceTier'];
    const performance = body['performanceConfig'];
    // Nearly every request has none of these four: one look each, then nothing.
    if (config === undefined && performance === undefined && headers[SERVICE_TIER] === undefined && headers[LATENCY] === undefined) return undefined;
    const named = [
      tierField(isObject(config) ? config['type'] : config, 'serviceTier.type'),
      tierField(headerText(headers[SERVICE_TIER]), SERVICE_TIER),
      latencyTier(tierField(isObject(performance) ? performance['latency'] : performance, 'performanceConfig.latency')),
      latencyTier(tierField(headerText(headers[LATENCY]), LATENCY)),
    ];
    return joined(named);
  },
  serviceTiers: tierPrices({ default: 1, standard: 1, priority: 2, flex: 1, reserved: 1, 'latency-optimized': 2 }),
};

const SERVICE_TIER = 'x-amzn-bedrock-service-tier';
const LATENCY = 'x-amzn-bedrock-performanceconfig-latency';

/** The tier a Converse response or stream metadata event says it ran at. */
export function tierFromDocument(document: Record<string, unknown>): Pick<Metered, 'tier'> {
  const config = document['serviceTier'];
  const performance = document['performanceConfig'];
  if (config === undefined && performance === undefined) return {};
  const tier = joined([readable(isObject(config) ? config['type'] : undefined), latencyTier(readable(isObject(performance) ? performance['latency'] : undefined))]);
  return tier === undefined ? {} : { tier };
}

/** The tier InvokeModel's response headers say it ran at. */
export function tierFromHeaders(headers: OutgoingHeaders): Pick<Metered, 'tier'> {
  const tier = joined([readable(headerText(headers[SERVICE_TIER])), latencyTier(readable(headerText(headers[LATENCY])))]);
  return tier === undefined ? {} : { tier };
}

/** `optimized` latency is a tier of its own; `standard` is none. */
function latencyTier(latency: string | undefined): string | undefined {
  if (latency === undefined || latency === 'standard') return undefined;
  return `latency-${latency}`;
}

/** The distinct tiers named, `default` only when nothing else is. */
function joined(names: readonly (string | undefined)[]): string | undefined {
  const distinct = [...new Set(names.filter((name): name is string => name !== undefined))];
  const premium = distinct.filter((name) => name !== 'default');
  if (premium.length > 0) return premium.join('+');
  return distinct.length > 0 ? 'default' : undefined;
}

/** What metering reads of an upstream's value: never a reason to fail. */
function readable(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' && value.length <= 64 ? value : undefined;
}

function headerText(value: string | readonly string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : (value as string | undefined);
}
