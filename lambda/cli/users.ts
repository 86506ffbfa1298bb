import type { Store, UserRecord } from '../store/port';
import { parseCommandArgs, wantsHelp } from './args';
import { USERS_CREATE_HELP, USERS_HELP, USERS_LIST_HELP, USERS_SET_LIMITS_HELP } from './help';
import { CliFailure, now, UsageError, withStore, type CliIo } from './io';
import { applyCaps, CAP_OPTIONS, describeCaps, hasChanges, limitsView, parseCaps, type LimitsView } from './limits';
import { capCells, nameArgument, SETTINGS_DELAY } from './owners';
import { printJson, printTable, shortTime } from './output';

export async function usersCommand(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'create':
      return wantsHelp(rest) ? help(io, USERS_CREATE_HELP) : createUser(rest, io);
    case 'list':
      return wantsHelp(rest) ? help(io, USERS_LIST_HELP) : listUsers(rest, io);
    case 'set-limits':
      return wantsHelp(rest) ? help(io, USERS_SET_LIMITS_HELP) : setUserLimits(rest, io);
    case 'help':
    case '--help':
    case '-h':
      return help(io, USERS_HELP);
    case undefined:
      throw new UsageError('missing users command (create, list or set-limits)', 'users');
    default:
      throw new UsageError(`unknown users command "${sub}"`, 'users');
  }
}

function help(io: CliIo, text: string): number {
  io.stdout.write(text);
  return 0;
}

export interface UserView {
  readonly name: string;
  readonly createdAt: string;
  readonly limits: LimitsView;
}

function userView(record: UserRecord): UserView {
  return { name: record.name, createdAt: record.createdAt, limits: limitsView(record.limits) };
}

function describeUser(record: UserRecord): string {
  const caps = describeCaps(record.limits);
  return caps.length > 0 ? caps.join(', ') : 'no caps';
}

async function createUser(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'users create';
  const { values, positionals } = parseCommandArgs(command, args, CAP_OPTIONS, 1);
  const name = nameArgument(positionals[0], 'user', command);
  const limits = applyCaps(undefined, parseCaps(values, command, false));
  const record: UserRecord = { name, createdAt: now(io).toISOString(), ...(limits && { limits }) };

  const created = await withStore(io, async (store) => {
    if (await store.getUser(name)) {
      throw new CliFailure(`user "${name}" already exists; change their limits with: tollgate users set-limits ${name} ...`);
    }
    await store.createUser(record);
    return existingUser(store, name);
  });
  if (values.json) printJson(io.stdout, userView(created));
  else io.stdout.write(`Created user "${created.name}" (${describeUser(created)}). Their caps apply across all of their keys.\n`);
  return 0;
}

async function listUsers(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('users list', args, {});
  const records = await withStore(io, (store) => store.listUsers());
  if (values.json) {
    printJson(io.stdout, records.map(userView));
    return 0;
  }
  if (records.length === 0) {
    io.stdout.write('No users yet. Create one with: npx tollgate users create <name>\n');
    return 0;
  }
  printTable(
    io.stdout,
    [
      { header: 'NAME' },
      { header: 'DAILY', align: 'right' },
      { header: 'WEEKLY', align: 'right' },
      { header: 'MONTHLY', align: 'right' },
      { header: 'LIFETIME', align: 'right' },
      { header: 'CREATED' },
    ],
    records.map((record) => [record.name, ...capCells(record.limits), shortTime(record.createdAt)]),
  );
  return 0;
}

async function setUserLimits(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'users set-limits';
  const { values, positionals } = parseCommandArgs(command, args, CAP_OPTIONS, 1);
  const name = nameArgument(positionals[0], 'user', command);
  const caps = parseCaps(values, command, true);
  if (!hasChanges(caps)) throw new UsageError('nothing to change: give --daily, --weekly, --monthly or --lifetime', command);

  const updated = await withStore(io, async (store) => {
    const current = await existingUser(store, name);
    // Patches replace `limits` whole: read, change the given caps, write the object back.
    await store.updateUser(name, { limits: applyCaps(current.limits, caps) });
    return existingUser(store, name);
  });
  if (values.json) printJson(io.stdout, userView(updated));
  else io.stdout.write(`User "${updated.name}": ${describeUser(updated)}. ${SETTINGS_DELAY}\n`);
  return 0;
}

async function existingUser(store: Store, name: string): Promise<UserRecord> {
  const record = await store.getUser(name);
  if (!record) throw new CliFailure(`no user named "${name}" (see "tollgate users list")`);
  return record;
}
