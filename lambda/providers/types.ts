import type * as z from '../config/zod';
import type { Dispatcher } from 'undici';
import type { MeteringSettings } from '../config/config';
import type { IncomingHeaders } from '../core/http-types';
import type { UpstreamResponse } from '../core/upstream';
import type { Endpoints, FormatId, Operation, PreparedRequest, RequestView, TierReading, WireFormat } from '../formats/types';

/** Kinds whose API has one well-known host: the gateway has an account of each, named after it, with no configuration. */
export type HostedProviderId = 'openai' | 'anthropic' | 'groq' | 'google-vertex' | 'bedrock' | 'google-gla';

/**
 * Kinds whose host only the operator knows (an Azure resource, a self-hosted server): an account
 * of one exists only once the config names it, with its `baseUrl`.
 */
export type UnhostedProviderId = 'azure-openai' | 'openai-compatible';

export type ProviderId = HostedProviderId | UnhostedProviderId;

/**
 * A request as it will leave the gateway: final URL, headers already stripped of the caller's
 * credentials, and the exact body bytes. Signers (SigV4) sign exactly this.
 */
export interface UpstreamDraft {
  readonly method: string;
  /** `origin` and `target` joined; built on first use (only signing providers need it). */
  readonly url: URL;
  /** The configured base URL's origin: the only source of the host. */
  readonly origin: string;
  /** Path and query as they go on the request line. */
  readonly target: string;
  readonly headers: Readonly<Record<string, string | string[]>>;
  readonly body: Buffer | undefined;
}

export interface AuthContext<Options> {
  /** The configured credential (an API key, a service-account JSON, …), if any. */
  readonly credential: string | undefined;
  readonly options: Options;
  /** For providers that must call out to authenticate (OAuth token endpoints). */
  readonly dispatcher: Dispatcher;
  readonly now: () => Date;
  /** The environment the gateway was started with, for credential chains that read it (AWS); `process.env` when absent. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Transport for one provider: where requests go, which route names reach it, and how the
 * gateway authenticates upstream. What the bodies mean is the wire format's job.
 *
 * Methods use method syntax on purpose: it lets a `ProviderAdapter<VertexOptions>` sit in the
 * registry next to adapters with other options.
 *
 * @example
 * export const groq: ProviderAdapter = {
 *   id: 'groq', routes: ['groq'], format: 'openai', pricingId: 'groq',
 *   defaults: { baseUrl: 'https://api.groq.com', credentialEnv: 'GROQ_API_KEY' },
 *   authorize: (_request, { credential }) => ({ authorization: `Bearer ${credential}` }),
 * };
 */
export interface ProviderAdapter<Options = undefined> {
  readonly id: ProviderId;
  /** Route names under `/proxy/` that reach this provider; the first is canonical. */
  readonly routes: readonly string[];
  readonly format: FormatId;
  /** The provider id in `@pydantic/genai-prices`. */
  readonly pricingId: string;
  readonly defaults: {
    /** Absent for an unhosted kind, whose accounts must each give one. */
    readonly baseUrl?: string;
    /** An unhosted kind's base URL as the config error shows it, e.g. `https://<resource>.openai.azure.com`. */
    readonly baseUrlExample?: string;
    /** Where the credential is read from when the config names none. */
    readonly credentialEnv?: string;
  };
  /** True when requests may go out with no configured credential (Bedrock falls back to the AWS chain). */
  readonly credentialOptional?: boolean;
  /** Validates provider-specific config fields (`providers.<id>.options`). */
  readonly options?: z.ZodMiniType<Options>;
  /** The base URL when the config gives none and it depends on the options (a regional endpoint); else `defaults.baseUrl`. */
  defaultBaseUrl?(options: Options): string;
  /** Maps the caller's provider path to the upstream path, e.g. to fill in a configured project. */
  upstreamPath?(providerPath: string, options: Options): string;
  /**
   * Throws GatewayError for a query string this provider must not receive from a caller (one
   * that re-targets billing, say). Called with the query as sent, `?` included, or empty.
   */
  checkQuery?(query: string): void;
  /**
   * Caller headers (lower-case names) never forwarded to this provider, beyond the ones no provider
   * gets (e.g. the caller's own SigV4 headers). A function that reads no `this`: it is passed on
   * unbound, so an attempt allocates nothing for it.
   */
  readonly dropsRequestHeader?: (name: string) => boolean;
  /** Headers that authenticate the request upstream. Runs last, over the final bytes. */
  authorize(request: UpstreamDraft, context: AuthContext<Options>): Record<string, string> | Promise<Record<string, string>>;
  /**
   * How this kind serves its primary `format` where that is not the format's own way: paths of
   * its own (the Gemini Developer API's, Azure's deployments), the model read from them.
   * @default the format's allow-list and `prepare`, `upstreamPath` for the path
   */
  readonly serves?: Omit<FormatBinding<Options>, 'format' | 'pricingId'>;
  /**
   * The pricing id of an account of this kind, when the account rather than the kind decides it
   * (a generic OpenAI-compatible server is priced as the genai-prices provider its options name,
   * or from the config's prices for that account alone). Overrides every binding's `pricingId`.
   */
  pricingIdFor?(account: string, options: Options): string;
  /**
   * Wire formats this kind serves besides `format` (Claude's Messages API on Vertex or Bedrock),
   * each with how a request in it is addressed upstream. Tried in order after `format`: the first
   * whose `classify` accepts a path serves it.
   */
  readonly alsoServes?: readonly FormatBinding<Options>[];
}

/** One upstream request of an attempt: where it goes and, when it must change, its body. */
export interface Outbound {
  /** The path on the account's base URL. */
  readonly path: string;
  /** A replacement body; undefined sends the request's own (possibly format-rewritten) body. */
  readonly body?: Record<string, unknown>;
  /** A replacement query (`?` included, or empty for none); undefined sends the caller's. */
  readonly query?: string;
}

/** How usage is read from a response: a wire format's readers, or a binding's own. */
export type UsageReading = Pick<WireFormat, 'usageFromBody' | 'streamReader'>;

/** What a binding sees of the request when it addresses one attempt. */
export interface OutboundRequest extends RequestView {
  readonly method: string;
  readonly operation: Operation;
  /** The model this attempt asks for: the request's, or a member's rewrite of it. */
  readonly model: string;
  /** The caller's headers, for a binding that must carry one into the body (Bedrock reads `anthropic-beta` there). @default none */
  readonly headers?: IncomingHeaders;
}

/**
 * How one provider kind serves one wire format: which of the caller's paths it takes, where the
 * model is read from, where each attempt goes. The format still owns bodies, usage and errors.
 * Every hook defaults to the format's own behaviour on the kind's primary `format`.
 */
export interface FormatBinding<Options = undefined> {
  readonly format: FormatId;
  /** The provider id in `@pydantic/genai-prices` for models served this way. */
  readonly pricingId: string;
  /** @default the format's own allow-list */
  classify?(method: string, providerPath: string): Operation | undefined;
  /**
   * Throws GatewayError for a query this binding must not forward with this path.
   * @default the kind's `checkQuery`
   */
  checkQuery?(query: string, providerPath: string): void;
  /**
   * `model` is what the request is priced as under `pricingId` (a Bedrock id for a Claude name).
   * @default the format's `prepare` (the model from the body or the path the format defines)
   */
  prepare?(operation: string, request: RequestView, options: Options): PreparedRequest;
  /** @default the kind's `upstreamPath`, body unchanged */
  outbound?(request: OutboundRequest, options: Options): Outbound;
  /**
   * True when `outbound` reads a free call's body (Bedrock moves count_tokens' model into the path),
   * which is otherwise forwarded unread. A body that is not a JSON object is then refused (400).
   */
  readonly readsFreeBody?: boolean;
  /** What the route's 404 lists for this binding. @default the format's own endpoints */
  readonly endpoints?: Endpoints;
  /** @default the kind's `authorize` */
  authorize?(request: UpstreamDraft, context: AuthContext<Options>): Record<string, string> | Promise<Record<string, string>>;
  /**
   * Reshapes a successful (2xx) response to a request on `providerPath` before metering and the
   * client see it: Bedrock's event stream becomes Anthropic's SSE, its token count Anthropic's.
   * Must not throw (or reject), and holds no more than `limits` allow.
   * @default the response as the upstream sent it
   */
  reframe?(response: UpstreamResponse, limits: MeteringSettings, providerPath: string): UpstreamResponse | Promise<UpstreamResponse>;
  /**
   * Reshapes an error (non-2xx) response into the format's own error shape, where the provider
   * answers in another (Bedrock's `{"message"}` to a caller of Anthropic's API): see
   * `translatedJson`. Must not reject.
   * @default the response as the upstream sent it
   */
  reframeError?(response: UpstreamResponse): Promise<UpstreamResponse>;
  /**
   * Reads usage from responses served this way, when the format's own readers would misread it
   * (another genai-prices extractor flavour, a reported model less exact than the one asked for).
   * @default the format's `usageFromBody` and `streamReader`
   */
  readonly usageReading?: UsageReading;
  /**
   * How a caller picks a service tier on requests served this way, where the provider takes it
   * elsewhere than the format does (Bedrock's headers, on Claude's Messages API).
   * @default the format's `tiers`
   */
  readonly tiers?: TierReading;
}
