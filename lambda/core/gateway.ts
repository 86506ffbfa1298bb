import type { Dispatcher } from 'undici';
import type { GatewayConfig, ProviderSettings } from '../config/config';
import type { CredentialResolver } from '../config/credentials';
import { authenticate, authenticateKey, presentedKey } from '../keys/authenticate';
import { cachedPolicies, type PolicySource } from '../keys/policy-cache';
import { accessFilter, checkModelAccess, checkRouteAccess } from '../limits/access';
import { budgetRequest } from '../limits/budget';
import { KeySlots } from '../limits/key-slots';
import { planRateClaims, planReservation, type Policy } from '../limits/plan';
import { refusalError } from '../limits/refusal';
import type { WireFormat } from '../formats/types';
import type { Outbound, OutboundRequest } from '../providers/types';
import type { Pricer } from '../pricing/pricer';
import { FORMATS, pricingIdOf } from '../providers';
import { meteredBody } from '../metering/metered-body';
import { createProjectRouter, withProjectAccounts } from '../routing/project-accounts';
import type { Reservation, Store } from '../store/port';
import { GatewayError } from './errors';
import { bytes, headerValue, type GatewayRequest, type GatewayResponse } from './http-types';
import { jsonLogger, type Logger } from './log';
import { meterResponse, recordUnanswered, settleReservation } from './meter-response';
import { listModels, MODELS_PATH } from './models-endpoint';
import { parseJsonObject, readBody } from './read-body';
import { createRouter, type Candidate, type ParsedRoute } from './route';
import { draftUpstream, sendUpstream, UpstreamFailedError, type UpstreamResponse } from './upstream';

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
  const policies = deps.policies ?? cachedPolicies(deps.store, limits.keyCacheTtlMs, () => clock().getTime());
  const slots = new KeySlots(limits.maxConcurrentPerKey);
  const ttlMs = limits.reservationTtlSeconds * 1000;
  const router = createRouter(deps.config);
  const routes = createProjectRouter(router, policies, clock);

  async function proxy(request: GatewayRequest, route: ParsedRoute): Promise<GatewayResponse> {
    const at = clock();
    const secret = presentedKey(request.headers);
    const policy = await authenticateKey(secret, policies, at);
    checkRouteAccess(policy, route.route);
    const release = slots.acquire(policy.key.id);
    try {
      return await proxyWithSlot(request, withProjectAccounts(route, policy), policy, at, secret, release);
    } catch (error) {
      release();
      throw error;
    }
  }

  /** Everything after the key check; `release` frees the key's slot once the exchange with the upstream is over. */
  async function proxyWithSlot(
    request: GatewayRequest,
    route: ParsedRoute,
    policy: Policy,
    at: Date,
    /** The gateway key as presented: nothing that carries it goes upstream. */
    secret: string | undefined,
    release: () => void,
  ): Promise<GatewayResponse> {
    const candidate = firstCandidate(route);
    const { account: settings, adapter: provider, binding } = candidate;
    const credential = await resolveCredential(settings);
    if (credential === undefined && !provider.credentialOptional) {
      throw new GatewayError('provider_not_configured', `Provider ${settings.name} has no credential configured on the gateway.`);
    }
    const raw = request.method === 'GET' || request.method === 'HEAD' ? undefined : await readBody(request.body, maxRequestBytes, request.headers);

    const forward = async ({ path, query }: Outbound, body: Buffer | undefined) => {
      const draft = draftUpstream({
        baseUrl: settings.baseUrl,
        path,
        query: query ?? route.query,
        method: request.method,
        incoming: request.headers,
        body,
        secret,
        drops: provider.dropsRequestHeader?.bind(provider),
      });
      // `env` undefined means process.env to the providers that read it: no spread needed to omit it.
      const context = { credential, options: settings.options, dispatcher: deps.upstream, now: clock, env: deps.env };
      const auth = await (binding.authorize ? binding.authorize(draft, context) : provider.authorize(draft, context));
      return servedBy(settings, await sendUpstream(deps.upstream, draft, auth));
    };
    const view = { providerPath: route.providerPath, query: route.query, body: raw && raw.byteLength > 0 && route.operation.kind === 'metered' ? parseJsonObject(raw) : {} };
    if (route.operation.kind === 'free') {
      const outbound = outboundFor(candidate, { ...view, method: request.method, operation: route.operation, model: '' });
      return forwardFree(policy, at, () => forward(outbound, outbound.body ? serialized(outbound.body) : raw), release);
    }

    const operation = route.operation.name;
    const prepared = binding.prepare ? binding.prepare(operation, view, settings.options) : route.format.prepare(operation, view);
    checkModelAccess(policy, route.route, prepared);
    const pricingId = pricingIdOf(settings, binding);
    const budget = budgetRequest({
      format: route.format,
      operation,
      view,
      pricer: deps.pricer,
      pricingId,
      model: prepared.model,
      inputBytes: raw?.byteLength ?? 0,
      defaultMaxOutputTokens: limits.defaultMaxOutputTokens,
    });
    if (budget.estimateNanos === undefined && settings.unpriced.kind === 'reject') {
      throw new GatewayError(
        'unpriced_model',
        `Unable to calculate spend for model "${prepared.model}" on provider ${settings.name}: it has no known price. ` +
          'Add a custom price for it in the gateway config, or set the provider\'s "unpriced" policy to "allow" or "block".',
      );
    }
    const outbound = outboundFor(candidate, {
      ...view,
      body: prepared.rewritten ?? view.body,
      method: request.method,
      operation: route.operation,
      model: prepared.model,
    });
    // Serialised before anything is reserved: a body that cannot be forwarded is refused first.
    const replaced = outbound.body ?? prepared.rewritten;
    const body = replaced ? serialized(replaced) : raw;

    const reservation = planReservation(policy, budget.estimateNanos ?? 0, at, ttlMs, settings);
    await reserve(reservation, at);

    const context = {
      route,
      account: settings,
      pricingId,
      usageReading: binding.usageReading,
      operation,
      streams: route.operation.streams === true,
      requestModel: prepared.model,
      outputBound: budget.outputBound,
      policy,
      reservation,
      unpriced: settings.unpriced,
      store: deps.store,
      pricer: deps.pricer,
      logger,
      clock,
      metering: deps.config.metering,
      release,
    };
    let upstream;
    try {
      upstream = await forward(outbound, body);
    } catch (error) {
      const reached = error instanceof UpstreamFailedError && error.reachedProvider;
      await recordUnanswered(context, error instanceof GatewayError ? error.status : 500, reached);
      throw error;
    }
    const ok = upstream.status >= 200 && upstream.status < 300;
    return meterResponse(ok && binding.reframe ? binding.reframe(upstream, deps.config.metering) : upstream, context);
  }

  /**
   * Calls that run no model cost nothing, but they are requests: they take the key's rate-limit
   * and concurrency claims like any other, held until the response ends.
   */
  async function forwardFree(policy: Policy, at: Date, forward: () => Promise<UpstreamResponse>, release: () => void): Promise<GatewayResponse> {
    const reservation = planRateClaims(policy, at, ttlMs);
    if (reservation) await reserve(reservation, at);
    const done = async (): Promise<void> => {
      release();
      if (reservation) await settleReservation({ store: deps.store, reservation, logger }, 0, { outcome: 'free', key_id: policy.key.id }, 'free_request_settled');
    };
    let upstream;
    try {
      upstream = await forward();
    } catch (error) {
      await done();
      throw error;
    }
    return { status: upstream.status, headers: upstream.headers, body: meteredBody(upstream.body, () => {}, done) };
  }

  /** Takes every claim or refuses; a reservation whose answer was lost is handed back. */
  async function reserve(reservation: Reservation, at: Date): Promise<void> {
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
  }

  async function resolveCredential(settings: ProviderSettings): Promise<string | undefined> {
    try {
      return await deps.credential(settings);
    } catch (error) {
      logger.error('credential_unavailable', { provider: settings.name, message: error instanceof Error ? error.message : String(error) });
      throw new GatewayError('provider_not_configured', `The gateway could not read the credential for provider ${settings.name}.`, { cause: error });
    }
  }

  return {
    async handle(request) {
      const isRoot = request.url === '/' || request.url.startsWith('/?');
      if (isRoot && (request.method === 'GET' || request.method === 'HEAD')) {
        return { status: 200, headers: { 'content-type': 'application/json' }, body: request.method === 'HEAD' ? bytes() : bytes(HEALTH_BODY) };
      }
      // Clients probe their base URL before the first call, without credentials (Claude Code HEADs ANTHROPIC_BASE_URL).
      if (request.method === 'HEAD' && ROUTE_BASE.test(request.url) && router.formatOf(request.method, request.url)) {
        return { status: 200, headers: { 'content-type': 'application/json' }, body: bytes() };
      }
      let route: ParsedRoute | undefined;
      try {
        if (isWebSocketUpgrade(request.headers)) {
          throw new GatewayError(
            'upgrade_required',
            'tollgate does not proxy WebSocket connections: send the same request over HTTP (streamed responses come as server-sent events).',
          );
        }
        if (request.method === 'GET' && request.url.split('?')[0] === MODELS_PATH) {
          const policy = await authenticate(request.headers, policies, clock());
          return await listModels(deps.config, router, deps.credential, accessFilter(policy));
        }
        route = await routes.parse(request.method, request.url, request.headers);
        if (!route) throw new GatewayError('not_found', `No such path. Gateway requests go to /proxy/<route>/<provider path>.`);
        return await proxy(request, route);
      } catch (error) {
        return errorResponse(error, route, logger, router.formatOf(request.method, request.url));
      }
    },
  };
}

function firstCandidate(route: ParsedRoute): Candidate {
  const candidate = route.candidates[0];
  if (!candidate) throw new GatewayError('unsupported_endpoint', `Route "${route.route}" has no provider for ${route.providerPath}.`);
  return candidate;
}

/** Where one attempt goes: the binding's own addressing, else the kind's path mapping with the body as it is. */
function outboundFor(candidate: Candidate, request: OutboundRequest): Outbound {
  const { binding, adapter, account } = candidate;
  if (binding.outbound) return binding.outbound(request, account.options);
  return { path: adapter.upstreamPath?.(request.providerPath, account.options) ?? request.providerPath };
}

/** Says which account answered: the client can tell a failover from the first choice. */
function servedBy(account: ProviderSettings, upstream: UpstreamResponse): UpstreamResponse {
  upstream.headers['x-tollgate-provider'] = account.name;
  return upstream;
}

function isWebSocketUpgrade(headers: GatewayRequest['headers']): boolean {
  return headerValue(headers, 'upgrade')?.toLowerCase().includes('websocket') === true;
}

/** A body the format changed, as JSON. A body nested past what `JSON.stringify` can recurse is the caller's error, not ours. */
function serialized(body: Record<string, unknown>): Buffer {
  try {
    return Buffer.from(JSON.stringify(body));
  } catch (error) {
    if (error instanceof RangeError) throw new GatewayError('invalid_json', 'The request body is nested too deeply to forward.', { cause: error });
    throw error;
  }
}

function errorResponse(error: unknown, route: ParsedRoute | undefined, logger: Logger, named: WireFormat | undefined): GatewayResponse {
  const gatewayError = error instanceof GatewayError ? error : new GatewayError('internal_error', 'Internal gateway error.');
  if (!(error instanceof GatewayError)) logger.error('unexpected_error', { message: error instanceof Error ? error.message : String(error) });
  const fields = { route: route?.route, provider: route?.candidates[0]?.account.name, status: gatewayError.status, code: gatewayError.code };
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
