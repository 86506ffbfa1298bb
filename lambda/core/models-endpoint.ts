import type { GatewayConfig } from '../config/config';
import type { CredentialResolver } from '../config/credentials';
import type { AccessFilter } from '../limits/access';
import { pricedModels } from '../pricing/catalog';
import { bindingsOf, pricingIdOf, PROVIDERS } from '../providers';
import { bytes, type GatewayResponse } from './http-types';
import type { Router } from './route';

export const MODELS_PATH = '/proxy/models';

export interface RouteListing {
  readonly route: string;
  /** Other route names that reach exactly the same accounts. */
  readonly aliases: readonly string[];
  /** The first account the route tries. */
  readonly provider: string;
  /** Every account the route may use, in its order. */
  readonly members: readonly string[];
  readonly format: string;
  readonly models: readonly string[];
}

/**
 * `GET /proxy/models`: the routes this gateway can serve the caller — those with at least one
 * account that has a credential (or needs none) — each with the models its usable accounts have
 * a price for, i.e. the models a request will not be refused for as unpriced. With an `access`
 * filter, only the route names and models the caller's key is allowed.
 */
export async function listModels(config: GatewayConfig, router: Router, credential: CredentialResolver, access?: AccessFilter): Promise<GatewayResponse> {
  const usable = new Map<string, boolean>();
  for (const account of config.accounts.values()) {
    const ok = PROVIDERS[account.kind].credentialOptional === true || (await credential(account).catch(() => undefined)) !== undefined;
    usable.set(account.name, ok);
  }
  const byMembers = new Map<string, RouteListing & { aliases: string[] }>();
  for (const route of router.names) {
    if (access && !access.route(route)) continue;
    const members = (router.membersOf(route) ?? []).map((member) => member.account).filter((name) => usable.get(name) === true);
    const first = members[0] === undefined ? undefined : config.accounts.get(members[0]);
    if (!first) continue;
    const key = members.join(',');
    const listed = byMembers.get(key);
    if (listed) {
      listed.aliases.push(route);
      continue;
    }
    const pricingIds = new Set(members.flatMap((name) => {
      const account = config.accounts.get(name);
      return account ? bindingsOf(PROVIDERS[account.kind]).map((binding) => pricingIdOf(account, binding)) : [];
    }));
    const models = [...new Set([...pricingIds].flatMap((id) => pricedModels(id, config.prices)))].filter((model) => !access || access.model(model)).sort();
    byMembers.set(key, { route, aliases: [], provider: first.name, members, format: first.format, models });
  }
  const body = Buffer.from(JSON.stringify({ object: 'list', routes: [...byMembers.values()] }));
  return { status: 200, headers: { 'content-type': 'application/json', 'content-length': String(body.byteLength) }, body: bytes(body) };
}
