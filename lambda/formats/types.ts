import type { GatewayError } from '../core/errors';
import type { SseEvent } from '../metering/sse';

export type FormatId = 'openai';

/** What a wire format knows about one request, decided from its method and provider path. */
export type Operation =
  /** Inference that costs money: must be priced before forwarding and metered after. */
  | { readonly kind: 'metered'; readonly name: string }
  /** Reads and deletes that cost nothing (listing models, fetching a stored response). */
  | { readonly kind: 'free' };

/**
 * A JSON document holding a usage block, plus the genai-prices extractor flavour that reads it.
 * The extractors ship with the price data, so the mapping from fields to priced units stays in
 * step with the prices themselves.
 */
export interface UsageDocument {
  readonly flavor: string;
  readonly doc: unknown;
}

export interface Metered {
  /** The model the provider says it ran, when it says so (e.g. `gpt-4o-2024-08-06`). */
  readonly model?: string;
  readonly usage?: UsageDocument;
}

export interface PreparedRequest {
  readonly model: string;
  /** A replacement body, only when the format must change it (to ask for streamed usage). */
  readonly rewritten?: Record<string, unknown>;
}

export interface StreamUsageReader {
  onEvent(event: SseEvent): void;
  result(): Metered;
}

/** How one wire format carries model and usage, and how its API shapes an error. */
export interface WireFormat {
  readonly id: FormatId;
  /** Undefined: the endpoint is not one tollgate can meter or knows to be free, so it is refused. */
  classify(method: string, providerPath: string): Operation | undefined;
  /** Reads the model and makes any change metering needs; throws GatewayError on a bad body. */
  prepare(operation: string, body: Record<string, unknown>): PreparedRequest;
  usageFromBody(operation: string, body: unknown): Metered;
  streamReader(operation: string): StreamUsageReader;
  renderError(error: GatewayError): { readonly contentType: string; readonly body: string };
  /** Endpoints listed in the "unsupported endpoint" error, so the caller sees what does work. */
  readonly meteredEndpoints: readonly string[];
}
