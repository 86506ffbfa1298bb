import type { GatewayError } from '../core/errors';
import type { IncomingHeaders, OutgoingHeaders } from '../core/http-types';
import type { Framing, StreamMessage } from '../metering/framing';
import type { TierPrices } from '../pricing/tiers';

export type FormatId = 'openai' | 'anthropic' | 'groq' | 'gemini' | 'bedrock';

/** What a wire format knows about one request, decided from its method and provider path. */
export type Operation =
  /**
   * Inference that costs money: priced before forwarding and metered after. `streams` marks
   * operations whose response streams whatever its content type (Gemini's streamed JSON array),
   * so it is never buffered.
   */
  | { readonly kind: 'metered'; readonly name: string; readonly streams?: boolean }
  /**
   * Calls on the route's allow-list that run no model and touch nothing shared: listing models,
   * counting tokens. Provider object stores (files, batches, fine-tunes, stored responses) are
   * not free calls: they hold every gateway user's objects under one provider credential.
   */
  | { readonly kind: 'free' };

/** What a route forwards, as `METHOD /path` lines: the "unsupported endpoint" 404 lists them. */
export interface Endpoints {
  readonly metered: readonly string[];
  readonly free: readonly string[];
}

/**
 * A JSON document holding a usage block, plus the genai-prices extractor flavour that reads it.
 * The extractors ship with the price data, so the mapping from fields to priced units stays in
 * step with the prices themselves.
 */
export interface UsageDocument {
  readonly flavor: string;
  readonly doc: unknown;
  /**
   * The genai-prices provider whose `flavor` extractor reads `doc`: the shape is the format's own,
   * whoever's rates price it (Claude's usage on Vertex, priced with Google's rates, is still
   * Anthropic's usage block, 5-minute and 1-hour cache writes apart).
   * @default the provider the request is priced under
   */
  readonly extractorProvider?: string;
  /**
   * The genai-prices provider whose API shape the document has, whose `flavor` extractor reads it
   * when the pricing provider has none of that flavour (an OpenAI-compatible server priced as
   * Together, whose data has no extractors, or priced from custom prices alone).
   */
  readonly shapeOf?: string;
}

export interface Metered {
  /** The model the provider says it ran, when it says so (e.g. `gpt-4o-2024-08-06`). */
  readonly model?: string;
  readonly usage?: UsageDocument;
  /** The provider reported a failure inside a 2xx stream (an exception frame, an error event). */
  readonly failure?: string;
  /** The service tier the provider says it ran the request at (`default`, `priority`, …), when it says so. */
  readonly tier?: string;
}

/**
 * Which service tier a request asks for, and what each tier of the API costs: a wire format's own,
 * or a binding's where the provider takes the tier elsewhere (Bedrock's headers, for Claude's API).
 */
export interface TierReading {
  /**
   * The tier the request names, in `serviceTiers`' spelling; undefined when it names none (the
   * common case, which must stay one property read). Throws GatewayError for a value it cannot read.
   */
  requestTier(operation: string, request: RequestView, headers: IncomingHeaders): string | undefined;
  /** Each documented tier's price against the standard rates; a tier missing here is unpriced. */
  readonly serviceTiers: TierPrices;
}

export interface RequestView {
  readonly providerPath: string;
  readonly query: string;
  /** Parsed JSON body; an empty object for bodiless requests. */
  readonly body: Record<string, unknown>;
}

export interface PreparedRequest {
  /** The model to price, from the body or (Bedrock, Gemini) the path. */
  readonly model: string;
  /**
   * The model as the request spells it, where that differs from `model` (Bedrock prices an ARN or
   * an unpriced inference profile as the model it names). Model allow-lists accept either.
   */
  readonly requestedModel?: string;
  /** A replacement body, only when the format must change it (to ask for streamed usage). */
  readonly rewritten?: Record<string, unknown>;
}

export interface StreamUsageReader {
  /**
   * Reads one message. Returns the message's `data` as parsed JSON when this reader parsed it
   * (undefined when it skipped it unparsed): a second reader of the same messages, the span's
   * when tracing, takes it rather than parse the same text again.
   */
  onMessage(message: StreamMessage): unknown;
  result(): Metered;
}

/** How one wire format carries model and usage, and how its API shapes an error. */
export interface WireFormat {
  readonly id: FormatId;
  /**
   * Undefined: the endpoint is on neither the metered nor the free allow-list, so it is refused
   * with a 404. Throws GatewayError (400) for a path tollgate and the provider could read
   * differently (an encoded separator, a case variant of a fixed word), rather than guess.
   */
  classify(method: string, providerPath: string): Operation | undefined;
  /** Reads the model and makes any change metering needs; throws GatewayError on a bad body. */
  prepare(operation: string, request: RequestView): PreparedRequest;
  /** Usage from a whole (non-streamed) response; some providers put it in headers. */
  usageFromBody(operation: string, body: unknown, headers: OutgoingHeaders): Metered;
  /**
   * The request's own cap on output tokens per output, if it sets one (`max_tokens`,
   * `maxOutputTokens`, …). Throws GatewayError for a value it cannot read as a count.
   */
  maxOutputTokens?(operation: string, request: RequestView): number | undefined;
  /** How many outputs the request asks for (`n`, `candidateCount`), each of which may run to the cap. @default 1 */
  outputCount?(operation: string, request: RequestView): number;
  /**
   * Whether the provider is known to stop at that cap, so that usage past `outputs × cap` cannot be
   * real and is charged at the bound. @default true
   */
  outputCapEnforced?(operation: string): boolean;
  streamReader(operation: string): StreamUsageReader;
  /** How the API lets a caller choose a service tier, where it does. @default no tiers: every request at the standard rates */
  readonly tiers?: TierReading;
  /**
   * The request asking for another model: `rewrite` gets the model as the caller named it, where
   * this API carries it (the body's `model`; Vertex's and Bedrock's path), and says which to ask
   * for. Returns `request` itself when the model stays the same. A routing group's member uses it
   * to ask its account for its own name of a model.
   *
   * @example
   * openaiFormat.withModel(view, (model) => (model === 'gpt-4o' ? 'gpt-4o-2024-08-06' : model)); // view.body.model replaced
   */
  withModel(request: RequestView, rewrite: (model: string) => string): RequestView;
  renderError(error: GatewayError): { readonly contentType: string; readonly body: string };
  /**
   * The message that tells a client, in this API's own stream shape, that its stream broke after
   * it began (an SSE error event, a Gemini error element, a Bedrock exception frame): appended
   * in place of a clean end, so the caller's SDK raises an error. Undefined where the API has no
   * such message in this framing; the connection is then cut instead.
   */
  streamError(operation: string, error: GatewayError, framing: Framing): StreamMessage | undefined;
  /** Endpoints listed in the "unsupported endpoint" error, so the caller sees what does work. */
  readonly endpoints: Endpoints;
}
