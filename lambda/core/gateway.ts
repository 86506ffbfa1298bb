import type { Dispatcher } from 'undici';
import type { GatewayConfig, ProviderSettings } from '../config/config';
import type { CredentialResolver } from '../config/credentials';
import { authenticate } from '../keys/authenticate';
import { jsonLogger, type Logger } from './log';
import type { Pricer } from '../pricing/pricer';
import type { Store } from '../store/port';
import { GatewayError } from './errors';
import { bytes, type GatewayRequest, type GatewayResponse } from './http-types';
import { meterResponse } from './meter-response';
import { parseJsonObject, readBody } from './read-body';
import { parseRoute, type ParsedRoute } from './route';
import { draftUpstream, sendUpstream } from './upstream';
import { FORMATS } from '../providers';

export interface GatewayDeps {
  readonly config: GatewayConfig;
  readonly store: Store;
  readonly pricer: Pricer;
  readonly upstream: Dispatcher;
  readonly credential: CredentialResolver;
  readonly clock?: () => Date;
  readonly logger?: Logger;
  /** @default 32 MiB */
  readonly maxRequestBytes?: number;
}

export interface Gateway {
  /** Never rejects: every failure becomes a response in the calling API's error shape. */
  handle(request: GatewayRequest): Promise<GatewayResponse>;
}

const HEALTH_BODY = Buffer.from('{"status":"ok","service":"tollgate"}');

export function createGateway(deps: GatewayDeps): Gateway {
  const clock = deps.clock ?? (() => new Date());
  const logger = deps.logger ?? jsonLogger;
  const maxRequestBytes = deps.maxRequestBytes ?? 32 * 1024 * 1024;

  async function proxy(request: GatewayRequest, route: ParsedRoute): Promise<GatewayResponse> {
    const key = await authenticate(request.headers, deps.store);
    const settings = deps.config.providers[route.provider.id];
    const provider = route.provider;
    const credential = await resolveCredential(settings);
    if (credential === undefined && !provider.credentialOptional) {
      throw new GatewayError('provider_not_configured', `Provider ${provider.id} has no credential configured on the gateway.`);
    }
    const raw = request.method === 'GET' || request.method === 'HEAD' ? undefined : await readBody(request.body, maxRequestBytes);
    const path = provider.upstreamPath?.(route.providerPath, settings.options) ?? route.providerPath;

    const forward = async (body: Buffer | undefined) => {
      const draft = draftUpstream(settings.baseUrl, path, route.query, request.method, request.headers, body);
      const auth = await provider.authorize(draft, { credential, options: settings.options, dispatcher: deps.upstream, now: clock });
      return sendUpstream(deps.upstream, draft, auth);
    };
    if (route.operation.kind === 'free') return forward(raw);

    const body = raw && raw.byteLength > 0 ? parseJsonObject(raw) : {};
    const prepared = route.format.prepare(route.operation.name, { providerPath: route.providerPath, query: route.query, body });
    const priced = deps.pricer.knows(provider.pricingId, prepared.model);
    if (!priced && !settings.allowUnpriced) {
      throw new GatewayError(
        'unpriced_model',
        `Unable to calculate spend for model "${prepared.model}" on provider ${provider.id}: it has no known price. ` +
          'Add a custom price for it in the gateway config, or allow unpriced requests for this provider.',
      );
    }
    const upstream = await forward(prepared.rewritten ? Buffer.from(JSON.stringify(prepared.rewritten)) : raw);
    return meterResponse(upstream, {
      route,
      operation: route.operation.name,
      streams: route.operation.streams === true,
      requestModel: prepared.model,
      key,
      store: deps.store,
      pricer: deps.pricer,
      startedAt: clock(),
      logger,
    });
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
      let route: ParsedRoute | undefined;
      try {
        route = parseRoute(request.method, request.url);
        if (!route) throw new GatewayError('not_found', `No such path. Gateway requests go to /proxy/<route>/<provider path>.`);
        return await proxy(request, route);
      } catch (error) {
        return errorResponse(error, route, logger);
      }
    },
  };
}

function errorResponse(error: unknown, route: ParsedRoute | undefined, logger: Logger): GatewayResponse {
  const gatewayError = error instanceof GatewayError ? error : new GatewayError('internal_error', 'Internal gateway error.');
  if (!(error instanceof GatewayError)) logger.error('unexpected_error', { message: error instanceof Error ? error.message : String(error) });
  const fields = { route: route?.route, provider: route?.provider.id, status: gatewayError.status, code: gatewayError.code };
  if (gatewayError.status >= 500) logger.error('request_rejected', fields);
  else logger.info('request_rejected', fields);
  // Before a route is known there is no API to speak; OpenAI's shape is the one most clients parse.
  const format = route?.format ?? FORMATS.openai;
  const rendered = format.renderError(gatewayError);
  const body = Buffer.from(rendered.body);
  return {
    status: gatewayError.status,
    headers: { 'content-type': rendered.contentType, 'content-length': String(body.byteLength), 'x-tollgate-error': gatewayError.code },
    body: bytes(body),
  };
}
