import { keyId } from '../keys/gateway-key';
import { issueKey, type IssuedKey } from '../keys/issue-key';
import type { AccessLists, KeyPatch, KeyRecord, Limits, RateLimits, Store } from '../store/port';
import { ACCESS_OPTIONS, accessView, applyAccess, CLEAR_ACCESS_OPTIONS, describeAccess, hasAccessChanges, listText, parseAccess, type AccessView } from './access';
import { nonEmpty, parseCommandArgs, wantsHelp } from './args';
import {
  KEYS_CREATE_HELP,
  KEYS_DISABLE_HELP,
  KEYS_ENABLE_HELP,
  KEYS_HELP,
  KEYS_LIST_HELP,
  KEYS_REVOKE_HELP,
  KEYS_SET_ACCESS_HELP,
  KEYS_SET_LIMITS_HELP,
  KEYS_SHOW_HELP,
} from './help';
import { CliFailure, now, UsageError, withStore, type CliIo } from './io';
import {
  applyCaps,
  applyRateLimits,
  CAP_OPTIONS,
  describeCaps,
  describeExpiry,
  describeRateLimits,
  hasChanges,
  limitsView,
  parseCaps,
  parseCount,
  parseExpiry,
  type LimitsView,
} from './limits';
import { orDash, printFields, printJson, printTable, shortTime } from './output';
import { SETTINGS_DELAY } from './owners';
import { describeStoreTarget } from './stack-target';

export async function keysCommand(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'create':
      return wantsHelp(rest) ? help(io, KEYS_CREATE_HELP) : createKey(rest, io);
    case 'list':
      return wantsHelp(rest) ? help(io, KEYS_LIST_HELP) : listKeys(rest, io);
    case 'show':
      return wantsHelp(rest) ? help(io, KEYS_SHOW_HELP) : showKey(rest, io);
    case 'set-limits':
      return wantsHelp(rest) ? help(io, KEYS_SET_LIMITS_HELP) : setKeyLimits(rest, io);
    case 'set-access':
      return wantsHelp(rest) ? help(io, KEYS_SET_ACCESS_HELP) : setKeyAccess(rest, io);
    case 'disable':
      return wantsHelp(rest) ? help(io, KEYS_DISABLE_HELP) : disableKey(rest, io);
    case 'enable':
      return wantsHelp(rest) ? help(io, KEYS_ENABLE_HELP) : enableKey(rest, io);
    case 'revoke':
      return wantsHelp(rest) ? help(io, KEYS_REVOKE_HELP) : revokeKey(rest, io);
    case 'help':
    case '--help':
    case '-h':
      return help(io, KEYS_HELP);
    case undefined:
      throw new UsageError('missing keys command (create, list, show, set-limits, set-access, disable, enable or revoke)', 'keys');
    default:
      throw new UsageError(`unknown keys command "${sub}"`, 'keys');
  }
}

function help(io: CliIo, text: string): number {
  io.stdout.write(text);
  return 0;
}

/** Limits only a key has: request rates and an expiry. */
const KEY_LIMIT_OPTIONS = { rpm: { type: 'string' }, concurrent: { type: 'string' }, expires: { type: 'string' } } as const;

async function createKey(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'keys create';
  const { values } = parseCommandArgs(command, args, {
    project: { type: 'string' },
    user: { type: 'string' },
    name: { type: 'string' },
    ...CAP_OPTIONS,
    ...KEY_LIMIT_OPTIONS,
    ...ACCESS_OPTIONS,
  });
  const project = nonEmpty(values.project, '--project', command);
  if (project === undefined) throw new UsageError('--project is required', command);
  const user = nonEmpty(values.user, '--user', command);
  const name = nonEmpty(values.name, '--name', command);
  const at = now(io);
  const limits = applyCaps(undefined, parseCaps(values, command, false));
  const rateLimits = applyRateLimits(undefined, {
    requestsPerMinute: parseCount(values.rpm, '--rpm', command, false),
    concurrent: parseCount(values.concurrent, '--concurrent', command, false),
  });
  const expiresAt = parseExpiry(values.expires, at, command, false) ?? undefined;
  const access = applyAccess(undefined, parseAccess(values, command));

  const { key, record } = await withStore(io, (store) => issueLimitedKey(store, { project, user, name, limits, rateLimits, expiresAt, access }, at));
  const view = keyView(record, at);
  if (values.json) {
    printJson(io.stdout, { key, ...view });
    return 0;
  }
  // The key alone on stdout, so `KEY=$(tollgate keys create ...)` captures exactly the key.
  io.stdout.write(`${key}\n`);
  const settings = describeKeySettings(record);
  io.stderr.write(
    `Created key ${record.id} for project ${record.project}${settings.length > 0 ? ` (${settings.join(', ')})` : ''}. ` +
      `Stored in ${describeStoreTarget(io.env)}. This is the only time it is shown: it cannot be shown again.\n`,
  );
  return 0;
}

interface KeyRequest {
  readonly project: string;
  readonly user: string | undefined;
  readonly name: string | undefined;
  readonly limits: Limits | null;
  readonly rateLimits: RateLimits | null;
  readonly expiresAt: string | undefined;
  readonly access: AccessLists | null;
}

function issueLimitedKey(store: Store, request: KeyRequest, at: Date): Promise<IssuedKey> {
  return issueKey(
    store,
    {
      project: request.project,
      ...(request.user !== undefined && { user: request.user }),
      ...(request.name !== undefined && { name: request.name }),
      ...(request.limits && { limits: request.limits }),
      ...(request.rateLimits && { rateLimits: request.rateLimits }),
      ...(request.expiresAt !== undefined && { expiresAt: request.expiresAt }),
      ...(request.access && { access: request.access }),
    },
    at,
  );
}

/** In the order the gateway checks them, so the status is the reason a request would be refused. */
export type KeyStatus = 'active' | 'disabled' | 'revoked' | 'expired' | 'blocked';

export function keyStatus(record: KeyRecord, at: Date): KeyStatus {
  if (record.revokedAt !== undefined) return 'revoked';
  if (record.disabledAt !== undefined) return 'disabled';
  if (record.expiresAt !== undefined && Date.parse(record.expiresAt) <= at.getTime()) return 'expired';
  if (record.blockedUntil !== undefined && Date.parse(record.blockedUntil) > at.getTime()) return 'blocked';
  return 'active';
}

/** What may leave the store about a key: never the hash, which would allow offline matching. */
export interface KeyView {
  readonly id: string;
  readonly prefix: string;
  readonly project: string;
  readonly user: string | null;
  readonly name: string | null;
  readonly createdAt: string;
  readonly status: KeyStatus;
  readonly revokedAt: string | null;
  readonly disabledAt: string | null;
  readonly expiresAt: string | null;
  readonly blockedUntil: string | null;
  readonly limits: LimitsView;
  readonly rateLimits: { readonly requestsPerMinute: number | null; readonly concurrent: number | null };
  /** The key's own lists; its project's apply too (`keys show`). */
  readonly access: AccessView;
}

export function keyView(record: KeyRecord, at: Date): KeyView {
  return {
    id: record.id,
    prefix: record.prefix,
    project: record.project,
    user: record.user ?? null,
    name: record.name ?? null,
    createdAt: record.createdAt,
    status: keyStatus(record, at),
    revokedAt: record.revokedAt ?? null,
    disabledAt: record.disabledAt ?? null,
    expiresAt: record.expiresAt ?? null,
    blockedUntil: record.blockedUntil ?? null,
    limits: limitsView(record.limits),
    rateLimits: { requestsPerMinute: record.rateLimits?.requestsPerMinute ?? null, concurrent: record.rateLimits?.concurrent ?? null },
    access: accessView(record.access),
  };
}

function describeKeyLimits(record: KeyRecord): string[] {
  return [...describeCaps(record.limits), ...describeRateLimits(record.rateLimits), ...describeExpiry(record.expiresAt)];
}

/** Everything a key is created with or set to, for the one-line confirmations. */
function describeKeySettings(record: KeyRecord): string[] {
  return [...describeKeyLimits(record), ...describeAccess(record.access)];
}

async function listKeys(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'keys list';
  const { values } = parseCommandArgs(command, args, { project: { type: 'string' }, user: { type: 'string' } });
  const project = nonEmpty(values.project, '--project', command);
  const user = nonEmpty(values.user, '--user', command);
  const records = await withStore(io, (store) =>
    store.listKeys({ ...(project !== undefined && { project }), ...(user !== undefined && { user }) }),
  );
  const at = now(io);
  if (values.json) {
    printJson(io.stdout, records.map((record) => keyView(record, at)));
    return 0;
  }
  if (records.length === 0) {
    const filtered = project !== undefined || user !== undefined;
    io.stdout.write(filtered ? 'No keys match.\n' : 'No keys yet. Create one with: npx tollgate keys create --project <name>\n');
    return 0;
  }
  printTable(
    io.stdout,
    [
      { header: 'ID' },
      { header: 'PREFIX' },
      { header: 'PROJECT' },
      { header: 'USER' },
      { header: 'NAME' },
      { header: 'CREATED' },
      { header: 'STATUS' },
      { header: 'LIMITS' },
      { header: 'ACCESS' },
    ],
    records.map((record) => [
      record.id,
      `${record.prefix}…`,
      record.project,
      orDash(record.user),
      orDash(record.name),
      shortTime(record.createdAt),
      keyStatus(record, at),
      orDash(describeKeyLimits(record).join(', ')),
      orDash(describeAccess(record.access).join('; ')),
    ]),
  );
  return 0;
}

async function showKey(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'keys show';
  const { values, positionals } = parseCommandArgs(command, args, {}, 1);
  const id = keyIdArgument(positionals[0], command);
  const { record, project } = await withStore(io, async (store) => {
    const record = await existingKey(store, id);
    return { record, project: await store.getProject(record.project) };
  });
  const at = now(io);
  const view = keyView(record, at);
  // A key's lists only narrow its project's: what it may use takes both, so both are shown.
  const projectAccess = project ? accessView(project.access) : null;
  if (values.json) {
    printJson(io.stdout, { ...view, projectAccess });
    return 0;
  }
  const limits = describeKeyLimits(record);
  const within = (list: 'routes' | 'models') => `key: ${listText(record.access?.[list])}; project ${record.project}: ${listText(project?.access?.[list])}`;
  printFields(io.stdout, `Key ${record.id} (${record.prefix}…)`, [
    ['project', record.project],
    ['user', orDash(record.user)],
    ['name', orDash(record.name)],
    ['created', shortTime(record.createdAt)],
    ['status', view.status],
    ['limits', limits.length > 0 ? limits.join(', ') : 'none'],
    ['routes', within('routes')],
    ['models', within('models')],
  ]);
  return 0;
}

async function setKeyLimits(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'keys set-limits';
  const { values, positionals } = parseCommandArgs(command, args, { ...CAP_OPTIONS, ...KEY_LIMIT_OPTIONS }, 1);
  const id = keyIdArgument(positionals[0], command);
  const at = now(io);
  const caps = parseCaps(values, command, true);
  const rates = {
    requestsPerMinute: parseCount(values.rpm, '--rpm', command, true),
    concurrent: parseCount(values.concurrent, '--concurrent', command, true),
  };
  const expiresAt = parseExpiry(values.expires, at, command, true);
  if (!hasChanges(caps) && !hasChanges(rates) && expiresAt === undefined) {
    throw new UsageError('nothing to change: give --daily, --weekly, --monthly, --lifetime, --rpm, --concurrent or --expires', command);
  }

  const updated = await withStore(io, async (store) => {
    const record = await existingKey(store, id);
    if (record.revokedAt !== undefined) throw new CliFailure(`key ${id} is revoked, for good; its limits no longer matter`);
    // Patches replace `limits` and `rateLimits` whole: read, change the given fields, write back.
    const patch: KeyPatch = {
      ...(hasChanges(caps) && { limits: applyCaps(record.limits, caps) }),
      ...(hasChanges(rates) && { rateLimits: applyRateLimits(record.rateLimits, rates) }),
      ...(expiresAt !== undefined && { expiresAt }),
    };
    await store.updateKey(id, patch);
    return existingKey(store, id);
  });
  if (values.json) {
    printJson(io.stdout, keyView(updated, at));
    return 0;
  }
  const settings = describeKeyLimits(updated);
  io.stdout.write(`Key ${updated.id} (${updated.prefix}…, project ${updated.project}): ${settings.length > 0 ? settings.join(', ') : 'no limits'}. ${SETTINGS_DELAY}\n`);
  return 0;
}

async function setKeyAccess(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'keys set-access';
  const { values, positionals } = parseCommandArgs(command, args, { ...ACCESS_OPTIONS, ...CLEAR_ACCESS_OPTIONS }, 1);
  const id = keyIdArgument(positionals[0], command);
  const changes = parseAccess(values, command);
  if (!hasAccessChanges(changes)) {
    throw new UsageError('nothing to change: give --routes, --models, --clear-routes or --clear-models', command);
  }
  const at = now(io);
  const updated = await withStore(io, async (store) => {
    const record = await existingKey(store, id);
    if (record.revokedAt !== undefined) throw new CliFailure(`key ${id} is revoked, for good; what it may use no longer matters`);
    await store.updateKey(id, { access: applyAccess(record.access, changes) });
    return existingKey(store, id);
  });
  if (values.json) {
    printJson(io.stdout, keyView(updated, at));
    return 0;
  }
  const lists = describeAccess(updated.access);
  io.stdout.write(
    `Key ${updated.id} (${updated.prefix}…, project ${updated.project}): ${lists.length > 0 ? lists.join('; ') : 'any route and model'}, within what project ${updated.project} allows. ${SETTINGS_DELAY}\n`,
  );
  return 0;
}

async function disableKey(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'keys disable';
  const { values, positionals } = parseCommandArgs(command, args, {}, 1);
  const id = keyIdArgument(positionals[0], command);
  const at = now(io);
  const record = await withStore(io, async (store) => {
    const existing = await existingKey(store, id);
    // Disabling twice keeps the first time, as revoking does; a revoked key has nothing left to disable.
    if (existing.revokedAt !== undefined || existing.disabledAt !== undefined) return existing;
    await store.updateKey(id, { disabledAt: at.toISOString() });
    return existingKey(store, id);
  });
  if (values.json) {
    printJson(io.stdout, keyView(record, at));
    return 0;
  }
  if (record.revokedAt !== undefined) {
    io.stdout.write(`Key ${record.id} (${record.prefix}…, project ${record.project}) is revoked, which is final; nothing to disable.\n`);
    return 0;
  }
  io.stdout.write(
    `Disabled key ${record.id} (${record.prefix}…, project ${record.project}) at ${record.disabledAt ?? at.toISOString()}. ` +
      `${SETTINGS_DELAY}\nRe-enable it with: tollgate keys enable ${record.id}\n`,
  );
  return 0;
}

async function enableKey(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'keys enable';
  const { values, positionals } = parseCommandArgs(command, args, {}, 1);
  const id = keyIdArgument(positionals[0], command);
  const at = now(io);
  const record = await withStore(io, async (store) => {
    const existing = await existingKey(store, id);
    if (existing.revokedAt !== undefined) throw new CliFailure(`key ${id} is revoked, and revocation is final; issue a new key with "tollgate keys create"`);
    // Enabling also lifts a block left by a request whose cost could not be calculated.
    await store.updateKey(id, { disabledAt: null, blockedUntil: null });
    return existingKey(store, id);
  });
  const view = keyView(record, at);
  if (view.status === 'expired') {
    io.stderr.write(`note: key ${record.id} expired at ${record.expiresAt ?? '?'}; extend it with: tollgate keys set-limits ${record.id} --expires 30d\n`);
  }
  if (values.json) {
    printJson(io.stdout, view);
    return 0;
  }
  io.stdout.write(`Key ${record.id} (${record.prefix}…, project ${record.project}) is ${view.status}.\n`);
  return 0;
}

async function revokeKey(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'keys revoke';
  const { values, positionals } = parseCommandArgs(command, args, {}, 1);
  const id = keyIdArgument(positionals[0], command);
  const at = now(io);
  const revoked = await withStore(io, async (store) => ((await store.revokeKey(id, at)) ? store.getKey(id) : undefined));
  if (!revoked) throw new CliFailure(`no key with id "${id}" (see "tollgate keys list")`);
  if (values.json) {
    printJson(io.stdout, keyView(revoked, at));
    return 0;
  }
  io.stdout.write(`Revoked key ${revoked.id} (${revoked.prefix}…, project ${revoked.project}) at ${revoked.revokedAt ?? 'now'}.\n`);
  return 0;
}

/** A leaked key is often all the operator has at hand: accept it in place of its id, but never echo it back. */
function keyIdArgument(given: string | undefined, command: string): string {
  if (given === undefined || given.trim() === '') throw new UsageError('missing key id', command);
  return keyId(given) ?? given;
}

async function existingKey(store: Store, id: string): Promise<KeyRecord> {
  const record = await store.getKey(id);
  if (!record) throw new CliFailure(`no key with id "${id}" (see "tollgate keys list")`);
  return record;
}
