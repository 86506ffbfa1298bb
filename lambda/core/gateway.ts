import type { Dispatcher } from 'undici';
import type { GatewayConfig, ProviderSettings } from '../config/config';
import type { CredentialResolver } from '../config/credentials';
import { authenticate } from '../keys/authenticate';
import { cachedPolicies, type PolicySource } from '../keys/policy-cache';
import { planReservation } from '../limits/plan';
import { refusalError } from '../limits/refusal';
import type { WireFormat } from '../formats/types';
import type { Pricer } from '../pricing/pricer';
import { FORMATS } from '../providers';
import type { Store } from '../store/port';
import { GatewayError } from './errors';
import { bytes, type GatewayRequest, type GatewayResponse } from './http-types';
import { jsonLogger, type Logger } from './log';
import { meterResponse, settleReservation } from './meter-response';
import { listModels, MODELS_PATH } from './models-endpoint';
import { parseJsonObject, readBody } from './read-body';
import { formatOfUrl, parseRoute, type ParsedRoute } from './route';
import { draftUpstream, sendUpstream } from './upstream';

export interface GatewayDeps {
  readonly config: GatewayConfig;
  readonly store: Store;
  readonly pricer: Pricer;
  readonly upstream: Dispatcher;
  readonly credential: CredentialResolver;
  readonly clock?: () => Date;
  readonly logger?: Logger;
  /** @default key records cached for `config.limits.keyCacheTtlMs` */
  readonly policies?: PolicySource;
  /** @default 32 MiB */
  readonly maxRequestBytes?: number;
  /** The environment the gateway runs with, for providers whose credential chain reads it (AWS). @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface Gateway {
  /** Never rejects: every failure becomes a response in the calling API's error shape. */
  handle(request: GatewayRequest): Promise<GatewayResponse>;
}

const HEALTH_BODY = Buffer.from('{"status":"ok","service":"tollgate"}');
/** `/proxy/<route>` itself, as a client's base URL, with or without a trailing slash. */
const ROUTE_BASE = /^\/proxy\/[^/?]+\/?(?:\?.*)?$/;

/**
 * The runtime-neutral gateway. Per request:
 *
 * ```
 * route ─▶ key (cached) ─▶ body, model ─▶ price known? ─▶ estimate ─▶ reserve ──refused──▶ 402 / 429
 *                                                                       │
 *                                                            forward ◀──┘
 *                                                               │
 *                        meter the response as it passes ─▶ settle(actual) when the body ends
 * ```
 */
export function createGateway(deps: GatewayDeps): Gateway {
  const clock = deps.clock ?? (() => new Date());
  const logger = deps.logger ?? jsonLogger;
  const maxRequestBytes = deps.maxRequestBytes ?? 32 * 1024 * 1024;
  const limits = deps.config.limits;
  const policies = deps.policies ?? cachedPolicies(deps.store, limits.keyCacheTtlMs);

  async function proxy(request: GatewayRequest, route: ParsedRoute): Promise<GatewayResponse> {
    const at = clock();
    const policy = await authenticate(request.headers, policies, at);
    const settings = deps.config.providers[route.provider.id];
    const provider = route.provider;
    const credential = await resolveCredential(settings);
    if (credential === undefined && !provider.credentialOptional) {
      throw new GatewayError('provider_not_configured', `Provider ${provider.id} has no credential configured on the gateway.`);
    }
    const raw = request.method === 'GET' || request.method === 'HEAD' ? undefined : await readBody(request.body, maxRequestBytes);
    const path = provider.upstreamPath?.(route.providerPath, settings.options) ?? route.providerPath;

    const forward = async (body: Buffer | undefined) => {
      const draft = draftUpstream(settings.baseUrl, path, route.query, request.method, request.headers, body, provider.dropsRequestHeader?.bind(provider));
      // `env` undefined means process.env to the providers that read it: no spread needed to omit it.
      const auth = await provider.authorize(draft, { credential, options: settings.options, dispatcher: deps.upstream, now: clock, env: deps.env });
      return sendUpstream(deps.upstream, draft, auth);
    };
    if (route.operation.kind === 'free') return forward(raw);

    const view = { providerPath: route.providerPath, query: route.query, body: raw && raw.byteLength > 0 ? parseJsonObject(raw) : {} };
    const operation = route.operation.name;
    const prepared = route.format.prepare(operation, view);
    const outputTokens = route.format.maxOutputTokens?.(operation, view) ?? limits.defaultMaxOutputTokens;
    // No tokenizer yields more tokens than the text has UTF-8 bytes: the body's size bounds the input.
    const estimate = deps.pricer.estimate(provider.pricingId, prepared.model, raw?.byteLength ?? 0, outputTokens);
    if (estimate === undefined && settings.unpriced.kind === 'reject') {
      throw new GatewayError(
        'unpriced_model',
        `Unable to calculate spend for model "${prepared.model}" on provider ${provider.id}: it has no known price. ` +
          'Add a custom price for it in the gateway config, or set the provider\'s "unpriced" policy to "allow" or "block".',
      );
    }

    const reservation = planReservation(policy, estimate ?? 0, at, limits.reservationTtlSeconds * 1000);
    let reserved;
    try {
      reserved = await deps.store.reserve(reservation);
    } catch (error) {
      // The write may have committed before its answer was lost (a writer that died after its
      // commit). Nothing was forwarded: hand back whatever may be held, or the reconciler would
      // later charge the estimate for a request never made. A no-op if nothing was held.
      await deps.store.settle(reservation, 0).catch(() => false);
      throw error;
    }
    if (!reserved.ok) throw refusalError(reserved.refused, at);

    const context = {
      route,
      operation,
      streams: route.operation.streams === true,
      requestModel: prepared.model,
      policy,
      reservation,
      unpriced: settings.unpriced,
      store: deps.store,
      pricer: deps.pricer,
      logger,
      clock,
      metering: deps.config.metering,
    };
    let upstream;
    try {
      upstream = await forward(prepared.rewritten ? Buffer.from(JSON.stringify(prepared.rewritten)) : raw);
    } catch (error) {
      // Never sent, never billed: hand the whole reservation back.
      await settleReservation(context, 0, { outcome: 'not-forwarded' });
      throw error;
    }
    return meterResponse(upstream, context);
  }

  async function resolveCredential(settings: ProviderSettings): Promise<string | undefined> {
    try {
      return await deps.credential(settings);
    } catch (error) {
      logger.error('credential_unavailable', { provider: settings.id, message: error instanceof Error ? error.message : String(error) });
      throw new GatewayError('provider_not_configured', `The gateway could not read the credential for provider ${settings.id}.`, { cause: error });
    }
  }

  return {
    async handle(request) {
      const isRoot = request.url === '/' || request.url.startsWith('/?');
      if (isRoot && (request.method === 'GET' || request.method === 'HEAD')) {
        return { status: 200, headers: { 'content-type': 'application/json' }, body: request.method === 'HEAD' ? bytes() : bytes(HEALTH_BODY) };
      }
      // Clients probe their base URL before the first call, without credentials (Claude Code HEADs ANTHROPIC_BASE_URL).
      if (request.method === 'HEAD' && ROUTE_BASE.test(request.url) && formatOfUrl(request.url)) {
        return { status: 200, headers: { 'content-type': 'application/json' }, body: bytes() };
      }
      let route: ParsedRoute | undefined;
      try {
        if (request.method === 'GET' && request.url.split('?')[0] === MODELS_PATH) {
          await authenticate(request.headers, policies, clock());
          return await listModels(deps.config, deps.credential);
        }
        route = parseRoute(request.method, request.url);
        if (!route) throw new GatewayError('not_found', `No such path. Gateway requests go to /proxy/<route>/<provider path>.`);
        return await proxy(request, route);
      } catch (error) {
        return errorResponse(error, route, logger, formatOfUrl(request.url));
      }
    },
  };
}

function errorResponse(error: unknown, route: ParsedRoute | undefined, logger: Logger, named: WireFormat | undefined): GatewayResponse {
  const gatewayError = error instanceof GatewayError ? error : new GatewayError('internal_error', 'Internal gateway error.');
  if (!(error instanceof GatewayError)) logger.error('unexpected_error', { message: error instanceof Error ? error.message : String(error) });
  const fields = { route: route?.route, provider: route?.provider.id, status: gatewayError.status, code: gatewayError.code };
  if (gatewayError.status >= 500) logger.error('request_rejected', fields);
  else logger.info('request_rejected', fields);
  // A path refused before its route was parsed still speaks the API its route name chose; with
  // no route name there is no API to speak, and OpenAI's shape is the one most clients parse.
  const format = route?.format ?? named ?? FORMATS.openai;
  const rendered = format.renderError(gatewayError);
  const body = Buffer.from(rendered.body);
  return {
    status: gatewayError.status,
    headers: {
      'content-type': rendered.contentType,
      'content-length': String(body.byteLength),
      'x-tollgate-error': gatewayError.code,
      ...gatewayError.headers,
    },
    body: bytes(body),
  };
}
