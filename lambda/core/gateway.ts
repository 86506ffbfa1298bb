import type { Dispatcher } from 'undici';
import type { GatewayConfig, MeteringSettings, ProviderSettings } from '../config/config';
import type { CredentialResolver } from '../config/credentials';
import type { GroupMember } from '../config/routing';
import { authenticate, authenticateKey, presentedKey } from '../keys/authenticate';
import { cachedPolicies, type PolicySource } from '../keys/policy-cache';
import { accessFilter, checkModelAccess, checkRouteAccess } from '../limits/access';
import { budgetRequest } from '../limits/budget';
import { KeySlots } from '../limits/key-slots';
import { planRateClaims, planReservation, type Policy } from '../limits/plan';
import { refusalError } from '../limits/refusal';
import type { PreparedRequest, RequestView, WireFormat } from '../formats/types';
import type { FormatBinding, Outbound, OutboundRequest } from '../providers/types';
import { MAX_MODEL_NAME_LENGTH, type Pricer } from '../pricing/pricer';
import { STANDARD, tierBasisPoints, type TierPrices } from '../pricing/tiers';
import { NOOP_TRACER, type RequestTrace, type Tracer } from '../observability/otel/tracer';
import { accountLogFields } from '../observability/account-fields';
import { FORMATS, pricingIdOf } from '../providers';
import { meteredBody, type BodyOutcome } from '../metering/metered-body';
import { createProjectRouter, withProjectAccounts } from '../routing/project-accounts';
import { isMemberError, runAttempts, type AttemptSteps, type Planned, type Routing } from '../routing/attempts';
import { CircuitBreaker } from '../routing/circuit-breaker';
import type { Reservation, Store } from '../store/port';
import { GatewayError } from './errors';
import { failedRequest, settledBefore } from './failed-request';
import { bytes, headerValue, type GatewayRequest, type GatewayResponse } from './http-types';
import { jsonLogger, type Logger } from './log';
import { meterResponse, recordUnanswered, settleReservation, type MeterContext } from './meter-response';
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
  /** Draws the order of a routing group's members of equal priority; in [0, 1). @default Math.random */
  readonly random?: () => number;
  /** OpenTelemetry spans per request and per upstream attempt. @default none recorded */
  readonly tracer?: Tracer;
}

/** One member, ready to be sent this request. */
interface AttemptPlan extends Planned {
  readonly credential: string | undefined;
  /** The path on the account's base URL. */
  readonly path: string;
  /** A query replacing the caller's, when the binding must change it. */
  readonly query: string | undefined;
  /** The bytes to send: the caller's, or the body as the format or the member changed it. */
  readonly body: Buffer | undefined;
  /** The model this member is asked for; undefined for a free call. */
  readonly model?: string;
}

/** A metered request's attempt: priced at its member's price, and reserved for. */
interface MeteredPlan extends AttemptPlan {
  /** The model priced, as this member is asked for it. */
  readonly model: string;
  readonly outputBound: number | undefined;
  readonly reservation: Reservation;
  /** The price of the service tier the request asks for, in basis points; undefined for one no table prices. */
  readonly tierBasisPoints: number | undefined;
  /** The API's documented tier prices, for the tier the response names. */
  readonly serviceTiers: TierPrices | undefined;
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
 * route ─▶ key (cached) ─▶ body ─▶ each member in routing order (lambda/routing/attempts.ts):
 *                                    model, price known? ─▶ estimate ─▶ reserve ──refused──▶ 402 / 429
 *                                                                         │
 *                    no answer, 429, 5xx: release, next member ◀── forward ◀──┘
 *                                                                         │ answered
 *                           meter the response as it passes ─▶ settle(actual) when the body ends
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
  const tracer = deps.tracer ?? NOOP_TRACER;
  const routes = createProjectRouter(router, policies, clock);
  const routing: Routing = {
    breaker: new CircuitBreaker({
      failures: deps.config.routing.circuitBreakerFailures,
      cooldownMs: deps.config.routing.circuitBreakerCooldownMs,
      clock,
      logger,
    }),
    random: deps.random ?? Math.random,
    logger,
  };

  async function proxy(request: GatewayRequest, route: ParsedRoute, trace: RequestTrace): Promise<GatewayResponse> {
    const at = clock();
    const secret = presentedKey(request.headers);
    const policy = await authenticateKey(secret, policies, at);
    trace.identified(policy.key);
    checkRouteAccess(policy, route.route);
    const release = slots.acquire(policy.key.id);
    try {
      return await proxyWithSlot(request, withProjectAccounts(route, policy), policy, at, secret, release, trace);
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
    trace: RequestTrace,
  ): Promise<GatewayResponse> {
    const raw = request.method === 'GET' || request.method === 'HEAD' ? undefined : await readBody(request.body, maxRequestBytes, request.headers);
    const view: RequestView = {
      providerPath: route.providerPath,
      query: route.query,
      body: raw && raw.byteLength > 0 && route.operation.kind === 'metered' ? parseJsonObject(raw) : {},
    };

    const send = async (plan: AttemptPlan): Promise<UpstreamResponse> => {
      const { account, adapter, binding } = plan.candidate;
      const attempt = trace.attempt({ account: account.name, kind: account.kind, model: plan.model, baseUrl: account.baseUrl });
      const draft = draftUpstream({
        baseUrl: account.baseUrl,
        path: plan.path,
        query: plan.query ?? route.query,
        method: request.method,
        incoming: request.headers,
        body: plan.body,
        secret,
        drops: adapter.dropsRequestHeader,
        traceparent: attempt.traceparent,
      });
      try {
        // `env` undefined means process.env to the providers that read it: no spread needed to omit it.
        const context = { credential: plan.credential, options: account.options, dispatcher: deps.upstream, now: clock, env: deps.env };
        const auth = await (binding.authorize ? binding.authorize(draft, context) : adapter.authorize(draft, context));
        const upstream = await sendUpstream(deps.upstream, draft, auth);
        attempt.responded(upstream.status);
        return servedBy(account, upstream);
      } catch (error) {
        attempt.failed(attemptFailure(error));
        throw error;
      }
    };

    if (route.operation.kind === 'free') {
      const { operation } = route;
      const plan = async (candidate: Candidate): Promise<AttemptPlan> => {
        const credential = await credentialFor(candidate);
        // A free call's body is forwarded as sent, unread, unless a member must rename its model or the binding reads it.
        const reads = candidate.member.models.length > 0 || candidate.binding.readsFreeBody === true;
        const read = reads && raw && raw.byteLength > 0 ? { ...view, body: parseJsonObject(raw) } : view;
        const asked = withMemberModel(route.format, read, candidate.member);
        const outbound = outboundFor(candidate, asked, asked.body, request, operation, '');
        const replaced = outbound.body ?? (asked.body === read.body ? undefined : asked.body);
        return { candidate, credential, path: outbound.path, query: outbound.query, body: replaced ? serialized(replaced) : raw };
      };
      return forwardFree(route, policy, at, plan, send, release, trace);
    }

    const operation = route.operation.name;
    // Once, on the model the caller named, whichever member then serves it under whatever name:
    // read by the first member that can (one with no name for it is passed by below as well).
    const reading = firstReading(route.format, operation, route.candidates, view);
    const first = reading?.candidate;
    const preparedFirst = reading?.prepared;
    if (preparedFirst) {
      checkModelAccess(policy, route.route, preparedFirst);
      trace.requested({ format: route.format.id, operation, model: preparedFirst.model, body: view.body, raw });
    }
    const meterContext = (plan: MeteredPlan, attempts: number): MeterContext => ({
      route,
      account: plan.candidate.account,
      pricingId: pricingIdOf(plan.candidate.account, plan.candidate.binding),
      usageReading: plan.candidate.binding.usageReading,
      operation,
      streams: route.operation.kind === 'metered' && route.operation.streams === true,
      requestModel: plan.model,
      outputBound: plan.outputBound,
      policy,
      reservation: plan.reservation,
      requestedTier: plan.tierBasisPoints,
      serviceTiers: plan.serviceTiers,
      unpriced: plan.candidate.account.unpriced,
      store: deps.store,
      pricer: deps.pricer,
      logger,
      clock,
      metering: deps.config.metering,
      release,
      attempts,
      trace,
    });

    const response = await runAttempts<MeteredPlan>(
      route.route,
      route.candidates,
      {
        async plan(candidate, attempt) {
          const credential = await credentialFor(candidate);
          const { account, binding } = candidate;
          const asked = withMemberModel(route.format, view, candidate.member);
          // The first member asked for the caller's own model was prepared above, the same way.
          const prepared = candidate === first && asked === view && preparedFirst ? preparedFirst : prepareFor(route.format, operation, candidate, asked);
          const tiers = binding.tiers ?? route.format.tiers;
          const tier = tiers?.requestTier(operation, asked, request.headers);
          const tierPoints = tier === undefined ? STANDARD : tierBasisPoints(tier, account.tiers, tiers?.serviceTiers);
          const budget = budgetRequest({
            format: route.format,
            operation,
            view: asked,
            pricer: deps.pricer,
            pricingId: pricingIdOf(account, binding),
            model: prepared.model,
            inputBytes: raw?.byteLength ?? 0,
            defaultMaxOutputTokens: limits.defaultMaxOutputTokens,
            tierBasisPoints: tierPoints,
          });
          if (budget.estimateNanos === undefined && account.unpriced.kind === 'reject') {
            throw new GatewayError(
              'unpriced_model',
              `Unable to calculate spend for model "${prepared.model}" on provider ${account.name}: it has no known price. ` +
                'Add a custom price for it in the gateway config, or set the provider\'s "unpriced" policy to "allow" or "block".',
            );
          }
          if (tierPoints === undefined && account.unpriced.kind === 'reject') {
            throw new GatewayError(
              'unpriced_tier',
              `Unable to calculate spend for service tier "${tier}" on provider ${account.name}: the gateway knows no price for it. ` +
                `Give its price in the provider's "tiers" in the gateway config, or set the provider's "unpriced" policy to "allow" or "block".`,
            );
          }
          const outbound = outboundFor(candidate, asked, prepared.rewritten ?? asked.body, request, route.operation, prepared.model);
          // Serialised before anything is reserved: a body that cannot be forwarded is refused first.
          const replaced = outbound.body ?? prepared.rewritten ?? (asked.body === view.body ? undefined : asked.body);
          const planned = planReservation(policy, budget.estimateNanos ?? 0, at, ttlMs, account);
          return {
            candidate,
            credential,
            path: outbound.path,
            query: outbound.query,
            body: replaced ? serialized(replaced) : raw,
            model: prepared.model,
            outputBound: budget.outputBound,
            tierBasisPoints: tierPoints,
            serviceTiers: tiers?.serviceTiers,
            // The first attempt counted the request against the key's rate: a failover is not another request.
            reservation: attempt === 1 ? planned : { ...planned, claims: planned.claims.filter((claim) => claim.unit !== 'requests') },
          };
        },
        hold(plan) {
          return reserve(plan.reservation, at, trace);
        },
        letGo(plan) {
          return handBack(plan.reservation, plan.candidate.account);
        },
        send,
        async respond(plan, upstream, attempts) {
          return meterResponse(await asServed(plan.candidate.binding, upstream, deps.config.metering, route.providerPath), meterContext(plan, attempts));
        },
        async unanswered(plan, error, attempts) {
          const reached = error instanceof UpstreamFailedError && error.reachedProvider;
          await recordUnanswered(meterContext(plan, attempts), error instanceof GatewayError ? error.status : 500, reached);
          throw settledBefore(error);
        },
      },
      routing,
    );
    const body = trace.captureBody(response.body, headerString(response.headers['content-encoding']));
    return body === response.body ? response : { ...response, body };
  }

  /**
   * Calls that run no model cost nothing, but they are requests: they take the key's rate-limit
   * and concurrency claims like any other, once, held until the response ends, whichever member answers.
   */
  async function forwardFree(
    route: ParsedRoute,
    policy: Policy,
    at: Date,
    plan: (candidate: Candidate) => Promise<AttemptPlan>,
    send: (plan: AttemptPlan) => Promise<UpstreamResponse>,
    release: () => void,
    trace: RequestTrace,
  ): Promise<GatewayResponse> {
    const reservation = planRateClaims(policy, at, ttlMs);
    if (reservation) await reserve(reservation, at, trace);
    // The request's one `free_request_settled` line, which metrics count as its `request_settled` would be.
    const done = async (status: number, account: ProviderSettings | undefined, outcome: BodyOutcome['kind'] | 'not-forwarded' | 'no-response'): Promise<void> => {
      release();
      const fields = { route: route.route, ...(account && accountLogFields(account)), status, ...keyLogFields(policy), nanos: 0, outcome };
      if (reservation) await settleReservation({ store: deps.store, reservation, logger }, 0, fields, 'free_request_settled');
      else logger.info('free_request_settled', fields);
    };
    const steps: AttemptSteps<AttemptPlan> = {
      plan,
      hold: async () => {},
      letGo: async () => {},
      send,
      respond: async (plan, answered) => {
        const upstream = await asServed(plan.candidate.binding, answered, deps.config.metering, route.providerPath);
        return {
          status: upstream.status,
          headers: upstream.headers,
          body: meteredBody(upstream.body, () => {}, async (outcome) => {
            trace.end({ status: upstream.status, outcome: outcome.kind });
            await done(upstream.status, plan.candidate.account, outcome.kind);
          }),
        };
      },
      unanswered: async (_plan, error) => {
        throw error;
      },
    };
    try {
      return await runAttempts(route.route, route.candidates, steps, routing);
    } catch (error) {
      const reached = error instanceof UpstreamFailedError && error.reachedProvider;
      await done(error instanceof GatewayError ? error.status : 500, failedRequest(error)?.account, reached ? 'no-response' : 'not-forwarded');
      // Counted by the line above: the gateway's `request_rejected` line for it is not counted again.
      throw settledBefore(error);
    }
  }

  /** A failed attempt's reservation, handed back: the attempt that answers records the request. */
  async function handBack(reservation: Reservation, account: ProviderSettings): Promise<void> {
    try {
      await deps.store.release(reservation);
    } catch (error) {
      // Left held, the reconciler settles it at its estimate once it expires: loud, so it can be refunded.
      logger.error('reservation_release_failed', { ...accountLogFields(account), reservation: reservation.id, message: error instanceof Error ? error.message : String(error) });
    }
  }

  /** The member's credential; an account without one (where its kind needs one) is passed by. */
  async function credentialFor({ account, adapter }: Candidate): Promise<string | undefined> {
    let credential;
    try {
      credential = await deps.credential(account);
    } catch (error) {
      logger.error('credential_unavailable', { ...accountLogFields(account), message: error instanceof Error ? error.message : String(error) });
      throw new GatewayError('provider_not_configured', `The gateway could not read the credential for provider ${account.name}.`, { cause: error });
    }
    if (credential === undefined && !adapter.credentialOptional) {
      throw new GatewayError('provider_not_configured', `Provider ${account.name} has no credential configured on the gateway.`);
    }
    return credential;
  }

  /**
   * Takes every claim or refuses; a reservation whose answer was lost is handed back. The span
   * records the answer: what each cap has left, or the cap that refused.
   */
  async function reserve(reservation: Reservation, at: Date, trace: RequestTrace): Promise<void> {
    let reserved;
    try {
      reserved = await deps.store.reserve(reservation);
    } catch (error) {
      trace.reserved(reservation, undefined);
      // The write may have committed before its answer was lost (a writer that died after its
      // commit). Nothing was forwarded: hand back whatever may be held, or the reconciler would
      // later charge the estimate for a request never made; released, not settled, so no request
      // is counted either. A no-op if nothing was held.
      await deps.store.release(reservation).catch(() => false);
      throw error;
    }
    trace.reserved(reservation, reserved);
    if (!reserved.ok) throw refusalError(reserved.refused, at);
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
      const trace = tracer.startRequest(request);
      try {
        if (isWebSocketUpgrade(request.headers)) {
          throw new GatewayError(
            'upgrade_required',
            'tollgate does not proxy WebSocket connections: send the same request over HTTP (streamed responses come as server-sent events).',
          );
        }
        if (request.method === 'GET' && request.url.split('?')[0] === MODELS_PATH) {
          const policy = await authenticate(request.headers, policies, clock());
          trace.identified(policy.key);
          const listed = await listModels(deps.config, router, deps.credential, accessFilter(policy));
          // A request like any other in the metrics, though no provider is asked.
          logger.info('free_request_settled', { status: listed.status, ...keyLogFields(policy), nanos: 0, outcome: 'complete' });
          trace.end({ status: listed.status });
          return withTraceparent(listed, trace);
        }
        const parsed = routes.parse(request.method, request.url, request.headers);
        route = parsed instanceof Promise ? await parsed : parsed;
        if (!route) throw new GatewayError('not_found', `No such path. Gateway requests go to /proxy/<route>/<provider path>.`);
        trace.routed({ route: route.route, format: route.format.id, operation: route.operation.kind === 'metered' ? route.operation.name : undefined });
        return withTraceparent(await proxy(request, route, trace), trace);
      } catch (error) {
        const response = errorResponse(error, route, logger, router.formatOf(request.method, request.url));
        trace.end({ status: response.status, error: error instanceof GatewayError ? error : { code: 'internal_error', message: 'Internal gateway error.' } });
        return withTraceparent(response, trace);
      }
    },
  };
}

/**
 * What a member reads of the request (its model, a rewritten body): the binding's own reading, else
 * the format's. A model name longer than any model has is refused here, before anything prices,
 * remembers or forwards it (nor is it echoed: it may be megabytes long).
 */
function prepareFor(format: WireFormat, operation: string, { binding, account }: Candidate, request: RequestView): PreparedRequest {
  const prepared = binding.prepare ? binding.prepare(operation, request, account.options) : format.prepare(operation, request);
  if (prepared.model.length > MAX_MODEL_NAME_LENGTH) {
    throw new GatewayError('invalid_request', `The model name is ${prepared.model.length} characters long; tollgate accepts at most ${MAX_MODEL_NAME_LENGTH}.`);
  }
  return prepared;
}

/** The request as `member` asks for it: its first model rewrite that matches the model renames it. */
function withMemberModel(format: WireFormat, view: RequestView, member: GroupMember): RequestView {
  if (member.models.length === 0) return view;
  return format.withModel(view, (model) => {
    const rewrite = member.models.find(({ match }) => match.test(model));
    return rewrite ? model.replace(rewrite.match, rewrite.to) : model;
  });
}

/**
 * The first member's reading of the request that is not that member's own failure (Bedrock's
 * table lacking the model); undefined when every member fails so, as every attempt then will.
 * The request's own errors (a body with no model) are thrown.
 */
function firstReading(
  format: WireFormat,
  operation: string,
  candidates: readonly Candidate[],
  view: RequestView,
): { readonly candidate: Candidate; readonly prepared: PreparedRequest } | undefined {
  for (const candidate of candidates) {
    try {
      return { candidate, prepared: prepareFor(format, operation, candidate, view) };
    } catch (error) {
      if (!isMemberError(error)) throw error;
    }
  }
  return undefined;
}

/**
 * Where one attempt goes: the binding's own addressing, else the kind's path mapping with the body
 * as it is. The binding's request is built only for a binding that reads it (a literal, not a
 * spread of `asked`: the spread cost more than the rest of the attempt's planning).
 */
function outboundFor(
  candidate: Candidate,
  asked: RequestView,
  body: Record<string, unknown>,
  request: Pick<GatewayRequest, 'method' | 'headers'>,
  operation: OutboundRequest['operation'],
  model: string,
): Outbound {
  const { binding, adapter, account } = candidate;
  if (binding.outbound) {
    const { method, headers } = request;
    return binding.outbound({ providerPath: asked.providerPath, query: asked.query, body, method, operation, model, headers }, account.options);
  }
  return { path: adapter.upstreamPath?.(asked.providerPath, account.options) ?? asked.providerPath };
}

/** The answer in the caller's API, where the binding must change it: a 2xx reframed, an error in the API's own error shape. */
function asServed(binding: FormatBinding<unknown>, upstream: UpstreamResponse, metering: MeteringSettings, providerPath: string): UpstreamResponse | Promise<UpstreamResponse> {
  if (upstream.status >= 200 && upstream.status < 300) return binding.reframe ? binding.reframe(upstream, metering, providerPath) : upstream;
  return binding.reframeError ? binding.reframeError(upstream) : upstream;
}

/** Says which account answered: the client can tell a failover from the first choice. */
function servedBy(account: ProviderSettings, upstream: UpstreamResponse): UpstreamResponse {
  upstream.headers['x-tollgate-provider'] = account.name;
  return upstream;
}

/** The gateway's span, so a client can find its request's trace (the upstream's own `traceparent`, if any, is replaced). */
function withTraceparent(response: GatewayResponse, trace: RequestTrace): GatewayResponse {
  if (trace.traceparent !== undefined) response.headers['traceparent'] = trace.traceparent;
  return response;
}

/** How an attempt failed, for its span: the gateway's error code, and whether the provider may have run it. */
function attemptFailure(error: unknown): { code: string; status?: number; reachedProvider?: boolean } {
  if (error instanceof UpstreamFailedError) return { code: error.code, status: error.status, reachedProvider: error.reachedProvider };
  if (error instanceof GatewayError) return { code: error.code, status: error.status };
  return { code: 'internal_error' };
}

/** Whose request a log line is about, as `request_settled` names it. */
function keyLogFields({ key }: Policy): { key_id: string; project: string; user: string | undefined } {
  return { key_id: key.id, project: key.project, user: key.user };
}

function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
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

/** The caller's answer to a failed request, in its API's error shape, and the one `request_rejected` line that reports it. */
function errorResponse(error: unknown, route: ParsedRoute | undefined, logger: Logger, named: WireFormat | undefined): GatewayResponse {
  const gatewayError = error instanceof GatewayError ? error : new GatewayError('internal_error', 'Internal gateway error.');
  if (!(error instanceof GatewayError)) logger.error('unexpected_error', { message: error instanceof Error ? error.message : String(error) });
  // The account tried last, as the key's project saw the route (its own accounts swapped in), if any was.
  const failed = failedRequest(error);
  const account = failed?.account;
  const fields = {
    route: route?.route,
    ...(account && accountLogFields(account)),
    status: gatewayError.status,
    code: gatewayError.code,
    // Its `request_settled` line counted it (and its error) already: metrics skip this one.
    ...(failed?.settled && { settled: true }),
  };
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
