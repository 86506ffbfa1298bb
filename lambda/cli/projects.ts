import type { LimitMode, ProjectPatch, ProjectRecord, Store } from '../store/port';
import { ACCESS_OPTIONS, accessView, applyAccess, CLEAR_ACCESS_OPTIONS, describeAccess, hasAccessChanges, listText, parseAccess, type AccessView } from './access';
import { parseCommandArgs, wantsHelp } from './args';
import {
  PROJECTS_CREATE_HELP,
  PROJECTS_HELP,
  PROJECTS_LIST_HELP,
  PROJECTS_SET_ACCESS_HELP,
  PROJECTS_SET_LIMITS_HELP,
  PROJECTS_SHOW_HELP,
} from './help';
import { CliFailure, now, UsageError, withStore, type CliIo } from './io';
import { applyCaps, CAP_OPTIONS, describeCaps, hasChanges, limitsView, parseCaps, parseMode, type LimitsView } from './limits';
import { capCells, nameArgument, SETTINGS_DELAY } from './owners';
import { orDash, printFields, printJson, printTable, shortTime } from './output';

export async function projectsCommand(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'create':
      return wantsHelp(rest) ? help(io, PROJECTS_CREATE_HELP) : createProject(rest, io);
    case 'list':
      return wantsHelp(rest) ? help(io, PROJECTS_LIST_HELP) : listProjects(rest, io);
    case 'show':
      return wantsHelp(rest) ? help(io, PROJECTS_SHOW_HELP) : showProject(rest, io);
    case 'set-limits':
      return wantsHelp(rest) ? help(io, PROJECTS_SET_LIMITS_HELP) : setProjectLimits(rest, io);
    case 'set-access':
      return wantsHelp(rest) ? help(io, PROJECTS_SET_ACCESS_HELP) : setProjectAccess(rest, io);
    case 'help':
    case '--help':
    case '-h':
      return help(io, PROJECTS_HELP);
    case undefined:
      throw new UsageError('missing projects command (create, list, show, set-limits or set-access)', 'projects');
    default:
      throw new UsageError(`unknown projects command "${sub}"`, 'projects');
  }
}

function help(io: CliIo, text: string): number {
  io.stdout.write(text);
  return 0;
}

export interface ProjectView {
  readonly name: string;
  readonly createdAt: string;
  readonly mode: LimitMode;
  readonly limits: LimitsView;
  readonly access: AccessView;
}

function projectView(record: ProjectRecord): ProjectView {
  return { name: record.name, createdAt: record.createdAt, mode: record.mode ?? 'strict', limits: limitsView(record.limits), access: accessView(record.access) };
}

function describeProject(record: ProjectRecord): string {
  const caps = describeCaps(record.limits);
  return [`${record.mode ?? 'strict'}`, caps.length > 0 ? caps.join(', ') : 'no caps', ...describeAccess(record.access)].join('; ');
}

async function createProject(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'projects create';
  const { values, positionals } = parseCommandArgs(command, args, { ...CAP_OPTIONS, mode: { type: 'string' }, ...ACCESS_OPTIONS }, 1);
  const name = nameArgument(positionals[0], 'project', command);
  const limits = applyCaps(undefined, parseCaps(values, command, false));
  const mode = parseMode(values.mode, command);
  const access = applyAccess(undefined, parseAccess(values, command));
  const record: ProjectRecord = { name, createdAt: now(io).toISOString(), ...(limits && { limits }), ...(mode && { mode }), ...(access && { access }) };

  const created = await withStore(io, async (store) => {
    // The store keeps an existing project's settings; saying so beats appearing to apply new caps.
    if (await store.getProject(name)) {
      throw new CliFailure(`project "${name}" already exists; change its limits with: tollgate projects set-limits ${name} ...`);
    }
    await store.createProject(record);
    return existingProject(store, name);
  });
  if (values.json) printJson(io.stdout, projectView(created));
  else io.stdout.write(`Created project "${created.name}" (${describeProject(created)}).\n`);
  return 0;
}

async function listProjects(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('projects list', args, {});
  const records = await withStore(io, (store) => store.listProjects());
  if (values.json) {
    printJson(io.stdout, records.map(projectView));
    return 0;
  }
  if (records.length === 0) {
    io.stdout.write('No projects yet. Create one with: npx tollgate projects create <name>\n');
    return 0;
  }
  printTable(
    io.stdout,
    [
      { header: 'NAME' },
      { header: 'MODE' },
      { header: 'DAILY', align: 'right' },
      { header: 'WEEKLY', align: 'right' },
      { header: 'MONTHLY', align: 'right' },
      { header: 'LIFETIME', align: 'right' },
      { header: 'CREATED' },
      { header: 'ACCESS' },
    ],
    records.map((record) => [record.name, record.mode ?? 'strict', ...capCells(record.limits), shortTime(record.createdAt), orDash(describeAccess(record.access).join('; '))]),
  );
  return 0;
}

async function showProject(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'projects show';
  const { values, positionals } = parseCommandArgs(command, args, {}, 1);
  const name = nameArgument(positionals[0], 'project', command);
  const { record, keys } = await withStore(io, async (store) => ({ record: await existingProject(store, name), keys: await store.listKeys({ project: name }) }));
  if (values.json) {
    printJson(io.stdout, projectView(record));
    return 0;
  }
  const caps = describeCaps(record.limits);
  const narrowed = keys.filter((key) => key.revokedAt === undefined && key.access !== undefined).length;
  printFields(io.stdout, `Project ${record.name}`, [
    ['mode', record.mode ?? 'strict'],
    ['limits', caps.length > 0 ? caps.join(', ') : 'no caps'],
    ['routes', listText(record.access?.routes)],
    ['models', listText(record.access?.models)],
    ['keys', `${keys.length}${narrowed > 0 ? ` (${narrowed} with lists of their own, within these: see "tollgate keys list --project ${record.name}")` : ''}`],
    ['created', shortTime(record.createdAt)],
  ]);
  return 0;
}

async function setProjectAccess(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'projects set-access';
  const { values, positionals } = parseCommandArgs(command, args, { ...ACCESS_OPTIONS, ...CLEAR_ACCESS_OPTIONS }, 1);
  const name = nameArgument(positionals[0], 'project', command);
  const changes = parseAccess(values, command);
  if (!hasAccessChanges(changes)) {
    throw new UsageError('nothing to change: give --routes, --models, --clear-routes or --clear-models', command);
  }
  const updated = await withStore(io, async (store) => {
    const current = await existingProject(store, name);
    await store.updateProject(name, { access: applyAccess(current.access, changes) });
    return existingProject(store, name);
  });
  if (values.json) printJson(io.stdout, projectView(updated));
  else {
    const lists = describeAccess(updated.access);
    io.stdout.write(`Project "${updated.name}": ${lists.length > 0 ? lists.join('; ') : 'any route and model'}, for every key of it. ${SETTINGS_DELAY}\n`);
  }
  return 0;
}

async function setProjectLimits(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'projects set-limits';
  const { values, positionals } = parseCommandArgs(command, args, { ...CAP_OPTIONS, mode: { type: 'string' } }, 1);
  const name = nameArgument(positionals[0], 'project', command);
  const caps = parseCaps(values, command, true);
  const mode = parseMode(values.mode, command);
  if (!hasChanges(caps) && mode === undefined) {
    throw new UsageError('nothing to change: give --daily, --weekly, --monthly, --lifetime or --mode', command);
  }

  const updated = await withStore(io, async (store) => {
    const current = await existingProject(store, name);
    // Patches replace `limits` whole: read, change the given caps, write the object back.
    const patch: ProjectPatch = { ...(hasChanges(caps) && { limits: applyCaps(current.limits, caps) }), ...(mode && { mode }) };
    await store.updateProject(name, patch);
    return existingProject(store, name);
  });
  if (values.json) printJson(io.stdout, projectView(updated));
  else io.stdout.write(`Project "${updated.name}": ${describeProject(updated)}. ${SETTINGS_DELAY}\n`);
  return 0;
}

async function existingProject(store: Store, name: string): Promise<ProjectRecord> {
  const record = await store.getProject(name);
  if (!record) throw new CliFailure(`no project named "${name}" (see "tollgate projects list")`);
  return record;
}
