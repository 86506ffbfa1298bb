import { keyId } from '../keys/gateway-key';
import { issueKey } from '../keys/issue-key';
import type { KeyRecord } from '../store/port';
import { nonEmpty, parseCommandArgs, wantsHelp } from './args';
import { KEYS_CREATE_HELP, KEYS_HELP, KEYS_LIST_HELP, KEYS_REVOKE_HELP } from './help';
import { CliFailure, UsageError, withStore, type CliIo } from './io';
import { orDash, printJson, printTable, shortTime } from './output';

export async function keysCommand(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'create':
      return wantsHelp(rest) ? help(io, KEYS_CREATE_HELP) : createKey(rest, io);
    case 'list':
      return wantsHelp(rest) ? help(io, KEYS_LIST_HELP) : listKeys(rest, io);
    case 'revoke':
      return wantsHelp(rest) ? help(io, KEYS_REVOKE_HELP) : revokeKey(rest, io);
    case 'help':
    case '--help':
    case '-h':
      return help(io, KEYS_HELP);
    case undefined:
      throw new UsageError('missing keys command (create, list or revoke)', 'keys');
    default:
      throw new UsageError(`unknown keys command "${sub}"`, 'keys');
  }
}

function help(io: CliIo, text: string): number {
  io.stdout.write(text);
  return 0;
}

async function createKey(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'keys create';
  const { values } = parseCommandArgs(command, args, { project: { type: 'string' }, user: { type: 'string' }, name: { type: 'string' } });
  const project = nonEmpty(values.project, '--project', command);
  if (project === undefined) throw new UsageError('--project is required', command);
  const user = nonEmpty(values.user, '--user', command);
  const name = nonEmpty(values.name, '--name', command);

  const { key, record } = await withStore(io, (store) =>
    issueKey(store, { project, ...(user !== undefined && { user }), ...(name !== undefined && { name }) }),
  );
  if (values.json) {
    printJson(io.stdout, { key, id: record.id, prefix: record.prefix, project: record.project, user: record.user ?? null, name: record.name ?? null, createdAt: record.createdAt });
    return 0;
  }
  // The key alone on stdout, so `KEY=$(tollgate keys create ...)` captures exactly the key.
  io.stdout.write(`${key}\n`);
  io.stderr.write(`Created key ${record.id} for project ${record.project}. This is the only time it is shown: it cannot be shown again.\n`);
  return 0;
}

/** What may leave the store about a key: never the hash, which would allow offline matching. */
export interface KeyView {
  readonly id: string;
  readonly prefix: string;
  readonly project: string;
  readonly user: string | null;
  readonly name: string | null;
  readonly createdAt: string;
  readonly revokedAt: string | null;
  readonly status: 'active' | 'revoked';
}

export function keyView(record: KeyRecord): KeyView {
  return {
    id: record.id,
    prefix: record.prefix,
    project: record.project,
    user: record.user ?? null,
    name: record.name ?? null,
    createdAt: record.createdAt,
    revokedAt: record.revokedAt ?? null,
    status: record.revokedAt === undefined ? 'active' : 'revoked',
  };
}

async function listKeys(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'keys list';
  const { values } = parseCommandArgs(command, args, { project: { type: 'string' }, user: { type: 'string' } });
  const project = nonEmpty(values.project, '--project', command);
  const user = nonEmpty(values.user, '--user', command);
  const records = await withStore(io, (store) =>
    store.listKeys({ ...(project !== undefined && { project }), ...(user !== undefined && { user }) }),
  );
  const views = records.map(keyView);
  if (values.json) {
    printJson(io.stdout, views);
    return 0;
  }
  if (views.length === 0) {
    const filtered = project !== undefined || user !== undefined;
    io.stdout.write(filtered ? 'No keys match.\n' : 'No keys yet. Create one with: npx tollgate keys create --project <name>\n');
    return 0;
  }
  printTable(
    io.stdout,
    [{ header: 'ID' }, { header: 'PREFIX' }, { header: 'PROJECT' }, { header: 'USER' }, { header: 'NAME' }, { header: 'CREATED' }, { header: 'STATUS' }],
    views.map((view) => [view.id, `${view.prefix}…`, view.project, orDash(view.user ?? undefined), orDash(view.name ?? undefined), shortTime(view.createdAt), view.status]),
  );
  return 0;
}

async function revokeKey(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'keys revoke';
  const { values, positionals } = parseCommandArgs(command, args, {}, 1);
  const given = positionals[0];
  if (given === undefined || given.trim() === '') throw new UsageError('missing key id', command);
  // A leaked key is often all the operator has at hand; accept it, but never echo it back.
  const id = keyId(given) ?? given;

  const revoked = await withStore(io, async (store) => ((await store.revokeKey(id, new Date())) ? store.getKey(id) : undefined));
  if (!revoked) throw new CliFailure(`no key with id "${id}" (see "tollgate keys list")`);
  if (values.json) {
    printJson(io.stdout, keyView(revoked));
    return 0;
  }
  io.stdout.write(`Revoked key ${revoked.id} (${revoked.prefix}…, project ${revoked.project}) at ${revoked.revokedAt ?? 'now'}.\n`);
  return 0;
}
