import type { GatewayConfig } from '../config/config';
import type { CredentialResolver } from '../config/credentials';
import { pricedModels } from '../pricing/catalog';
import { PROVIDERS } from '../providers';
import { bytes, type GatewayResponse } from './http-types';

export const MODELS_PATH = '/proxy/models';

export interface RouteListing {
  readonly route: string;
  readonly aliases: readonly string[];
  readonly provider: string;
  readonly format: string;
  readonly models: readonly string[];
}

/**
 * `GET /proxy/models`: the routes this gateway can serve the caller — those whose provider has
 * a credential (or needs none) — each with the models it has a price for, i.e. the models a
 * request will not be refused for as unpriced.
 */
export async function listModels(config: GatewayConfig, credential: CredentialResolver): Promise<GatewayResponse> {
  const routes: RouteListing[] = [];
  for (const provider of Object.values(PROVIDERS)) {
    const settings = config.providers[provider.id];
    const usable = provider.credentialOptional === true || (await credential(settings).catch(() => undefined)) !== undefined;
    if (!usable) continue;
    const [route = provider.id, ...aliases] = provider.routes;
    routes.push({ route, aliases, provider: provider.id, format: provider.format, models: pricedModels(provider.pricingId, config.prices) });
  }
  const body = Buffer.from(JSON.stringify({ object: 'list', routes }));
  return { status: 200, headers: { 'content-type': 'application/json', 'content-length': String(body.byteLength) }, body: bytes(body) };
}
