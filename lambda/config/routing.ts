import { formatsOf, PROVIDERS } from '../providers';
import type { FormatId } from '../formats/types';
import type { ProviderSettings } from './config';
import { ConfigError } from './config-error';
import * as z from './zod';

/** A model-name rewrite for one member: the first `match` (a regular expression) that matches decides. */
export interface ModelRewrite {
  readonly match: RegExp;
  /** The replacement, with `$1`… for the match's groups. */
  readonly to: string;
}

/** One account in a routing group. */
export interface GroupMember {
  readonly account: string;
  /** Higher is tried first. @default 0 */
  readonly priority: number;
  /** Share of traffic among members of equal priority; 0 is a fallback only. @default 1 */
  readonly weight: number;
  /** Statuses that fail over to the next member besides 429 and 5xx (e.g. 404 for a model one account lacks). */
  readonly failoverOn: ReadonlySet<number>;
  readonly models: readonly ModelRewrite[];
}

/** A route name served by several accounts, all speaking the formats in `formats`. */
export interface RouteGroup {
  readonly name: string;
  readonly members: readonly GroupMember[];
  /** The wire formats every member serves: a request in any other is not this group's. */
  readonly formats: readonly FormatId[];
}

const memberSchema = z.strictObject({
  provider: z.string().check(z.minLength(1)),
  priority: z.optional(z.number().check(z.int())),
  weight: z.optional(z.number().check(z.nonnegative())),
  failoverOn: z.optional(z.array(z.number().check(z.int(), z.gte(400), z.lte(599)))),
  models: z.optional(z.array(z.strictObject({ match: z.string().check(z.minLength(1)), to: z.string().check(z.minLength(1)) }))),
});

export const routeGroupSchema = z.strictObject({ members: z.array(memberSchema).check(z.minLength(1)) });

type RouteGroupFile = z.infer<typeof routeGroupSchema>;

const ROUTE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function resolveRouteGroups(
  given: Readonly<Record<string, RouteGroupFile>>,
  accounts: ReadonlyMap<string, ProviderSettings>,
  source: string,
): Map<string, RouteGroup> {
  const groups = new Map<string, RouteGroup>();
  for (const [name, group] of Object.entries(given)) {
    const where = `${source}: routes.${name}`;
    if (!ROUTE_NAME.test(name)) throw new ConfigError(`${where}: a route name is lower-case letters, digits and "-", starting with a letter or digit`);
    const members = group.members.map((member, index): GroupMember => {
      const account = accounts.get(member.provider);
      if (!account) throw new ConfigError(`${where}.members.${index}.provider: no account named "${member.provider}" (accounts: ${[...accounts.keys()].join(', ')})`);
      return {
        account: member.provider,
        priority: member.priority ?? 0,
        weight: member.weight ?? 1,
        failoverOn: new Set(member.failoverOn ?? []),
        models: (member.models ?? []).map((rewrite, at) => ({ match: pattern(rewrite.match, `${where}.members.${index}.models.${at}.match`), to: rewrite.to })),
      };
    });
    const seen = new Set<string>();
    for (const member of members) {
      if (seen.has(member.account)) throw new ConfigError(`${where}.members: "${member.account}" is listed twice`);
      seen.add(member.account);
    }
    const formats = commonFormats(members.map((member) => accounts.get(member.account)?.kind ?? 'openai'));
    if (formats.length === 0) {
      throw new ConfigError(`${where}.members: the members share no API format, so no request could go to more than one of them (${members.map((member) => `${member.account}: ${formatsOf(PROVIDERS[accounts.get(member.account)?.kind ?? 'openai']).join('/')}`).join(', ')})`);
    }
    groups.set(name, { name, members, formats });
  }
  return groups;
}

function commonFormats(kinds: readonly (keyof typeof PROVIDERS)[]): FormatId[] {
  const [first, ...rest] = kinds.map((kind) => formatsOf(PROVIDERS[kind]));
  return (first ?? []).filter((format) => rest.every((formats) => formats.includes(format)));
}

function pattern(source: string, where: string): RegExp {
  try {
    // Anchored: a rewrite for `claude-sonnet-4-5` must not also catch `claude-sonnet-4-5-latest` by accident.
    return new RegExp(`^(?:${source})$`);
  } catch (error) {
    throw new ConfigError(`${where}: not a regular expression (${error instanceof Error ? error.message : String(error)})`);
  }
}
