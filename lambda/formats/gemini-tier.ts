import { GatewayError } from '../core/errors';
import { headerValue, type IncomingHeaders, type OutgoingHeaders } from '../core/http-types';
import { tierPrices } from '../pricing/tiers';
import { tierField } from './shared';
import type { RequestView, TierReading } from './types';

/**
 * Gemini's service tiers. The request names one in its body's `serviceTier` (the Gen AI SDK's
 * spelling; `service_tier` too, as protobuf JSON reads both) or, on Vertex, in the
 * `X-Vertex-AI-LLM-Shared-Request-Type` header (Priority and Flex PayGo). The Gemini Developer API
 * says which tier ran in its `x-gemini-service-tier` response header (priority past its limit runs
 * at standard), Vertex in `usageMetadata.trafficType`. Flex is documented at half the standard
 * price on both; priority at 75–100% above it on the Developer API (×2 here, the top of that range)
 * and at an undocumented "higher rate" on Vertex (×2 too); `unspecified` is the standard tier.
 * Provisioned Throughput is capacity bought ahead, and off-peak has no published price: both at
 * the standard rates here.
 */
export const GEMINI_TIERS: TierReading = {
  requestTier(_operation: string, { body }: RequestView, headers: IncomingHeaders): string | undefined {
    const camel = body['serviceTier'];
    const snake = body['service_tier'];
    const header = headers[VERTEX_TIER_HEADER];
    // Nearly every request has none of the three: one look each, then nothing.
    if (camel === undefined && snake === undefined && header === undefined) return undefined;
    const named = new Set<string>();
    for (const tier of [tierField(camel, 'serviceTier'), tierField(snake, 'service_tier'), tierField(headerValue(headers, VERTEX_TIER_HEADER), VERTEX_TIER_HEADER)]) {
      if (tier !== undefined) named.add(tier);
    }
    // Which one Google would honour is not documented: a request naming two tiers is not guessed at.
    if (named.size > 1) throw new GatewayError('invalid_request', `The request names more than one service tier (${[...named].join(', ')}): name one.`);
    return named.values().next().value;
  },
  serviceTiers: tierPrices({ unspecified: 1, standard: 1, flex: 0.5, priority: 2, provisioned: 1, offpeak: 1 }),
};

const VERTEX_TIER_HEADER = 'x-vertex-ai-llm-shared-request-type';
const RESPONSE_TIER_HEADER = 'x-gemini-service-tier';

/** Vertex's `trafficType` values, by the tier each is priced as; any other is a tier of its own name, unpriced. */
const TRAFFIC_TIERS: ReadonlyMap<string, string> = new Map([
  ['ON_DEMAND', 'standard'],
  ['ON_DEMAND_PRIORITY', 'priority'],
  ['ON_DEMAND_FLEX', 'flex'],
  ['ON_DEMAND_OFFPEAK', 'offpeak'],
  ['PROVISIONED_THROUGHPUT', 'provisioned'],
]);

/** The tier a response chunk's `usageMetadata` names: Vertex's `trafficType`, or a `serviceTier`. */
export function tierFromUsageMetadata(metadata: Record<string, unknown>): string | undefined {
  const tier = readable(metadata['serviceTier']);
  if (tier !== undefined) return tier;
  const traffic = readable(metadata['trafficType']);
  if (traffic === undefined || traffic === 'TRAFFIC_TYPE_UNSPECIFIED') return undefined;
  return TRAFFIC_TIERS.get(traffic) ?? traffic;
}

/** The tier the Gemini Developer API's response headers say ran. */
export function tierFromHeaders(headers: OutgoingHeaders): string | undefined {
  return readable(headerValue(headers, RESPONSE_TIER_HEADER));
}

/** What metering reads of an upstream's value: never a reason to fail. */
function readable(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' && value.length <= 64 ? value : undefined;
}
