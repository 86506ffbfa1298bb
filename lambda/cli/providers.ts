import { readFileSync } from 'node:fs';
import { ACCOUNT_NAME, ConfigError, UNPRICED_POLICIES } from '../config/config';
import { localSecretKey, sealCredential } from '../config/sealed-credentials';
import { sealingContext } from '../config/credentials';
import { isProviderId, PROVIDER_IDS, PROVIDERS } from '../providers';
import { resolveProjectAccount } from '../routing/project-accounts';
import type { ProjectAccountRecord, StoredCredential } from '../store/port';
import { nonEmpty, parseCommandArgs, wantsHelp } from './args';
import { PROVIDERS_ADD_HELP, PROVIDERS_HELP, PROVIDERS_LIST_HELP, PROVIDERS_REMOVE_HELP } from './help';
import { CliFailure, now, UsageError, withStore, type CliIo } from './io';
import { SETTINGS_DELAY } from './owners';
import { orDash, printJson, printTable, shortTime } from './output';
import { stackSecrets } from './provider-secrets';

export async function providersCommand(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'add':
      return wantsHelp(rest) ? help(io, PROVIDERS_ADD_HELP) : addAccount(rest, io);
    case 'list':
      return wantsHelp(rest) ? help(io, PROVIDERS_LIST_HELP) : listAccounts(rest, io);
    case 'remove':
      return wantsHelp(rest) ? help(io, PROVIDERS_REMOVE_HELP) : removeAccount(rest, io);
    case 'help':
    case '--help':
    case '-h':
      return help(io, PROVIDERS_HELP);
    case undefined:
      throw new UsageError('missing providers command (add, list or remove)', 'providers');
    default:
      throw new UsageError(`unknown providers command "${sub}"`, 'providers');
  }
}

function help(io: CliIo, text: string): number {
  io.stdout.write(text);
  return 0;
}

/** What the CLI shows of a project account: never the credential, at most its last four characters or its service account. */
export interface ProviderAccountView {
  readonly project: string;
  readonly name: string;
  readonly kind: string;
  readonly baseUrl: string | null;
  readonly options: unknown;
  /** What a request the gateway cannot price meets: refused (`reject`), forwarded at no cost (`allow`), or forwarded and its key blocked (`block`). */
  readonly unpriced: 'reject' | 'allow' | 'block';
  /** Under `block`, for how long; null otherwise. */
  readonly unpricedBlockMinutes: number | null;
  /** The credential's last four characters; null when it is too short to show any, or JSON. */
  readonly credentialEndsWith: string | null;
  /** A service-account JSON credential's `client_email`, shown in its place. */
  readonly serviceAccount: string | null;
  /** `sealed`: encrypted in the store with the local secret key. `secrets-manager`: a secret of the stack. */
  readonly storedIn: 'sealed' | 'secrets-manager';
  readonly secretId: string | null;
  readonly createdAt: string;
}

function accountView(record: ProjectAccountRecord): ProviderAccountView {
  return {
    project: record.project,
    name: record.name,
    kind: record.kind,
    baseUrl: record.baseUrl ?? null,
    options: record.options ?? null,
    unpriced: record.unpriced ?? 'reject',
    unpricedBlockMinutes: record.unpriced === 'block' ? (record.unpricedBlockMinutes ?? DEFAULT_BLOCK_MINUTES) : null,
    credentialEndsWith: record.hint === '' || CUT_FROM_JSON.test(record.hint) ? null : record.hint,
    serviceAccount: record.serviceAccount ?? null,
    storedIn: record.credential.kind === 'sealed' ? 'sealed' : 'secrets-manager',
    secretId: record.credential.kind === 'secret' ? record.credential.secretId : null,
    createdAt: record.createdAt,
  };
}

/** Route names every gateway already has (and `/proxy/models`): an account of the same name could never be reached by it. */
const BUILT_IN_ROUTES = new Set<string>([...PROVIDER_IDS, ...Object.values(PROVIDERS).flatMap((adapter) => adapter.routes), 'models']);

/** As a config file's `unpricedBlockMinutes` defaults. */
const DEFAULT_BLOCK_MINUTES = 60;

/** Shorter credentials show nothing of themselves: four characters of a short one are too much of it. */
const HINT_MIN_LENGTH = 12;
/** A hint an earlier release cut from the end of a JSON credential (`"\n}`): no key ends so. */
const CUT_FROM_JSON = /["{}\s]/;

/**
 * What listings may show of a credential. A JSON one's last characters are its punctuation, or
 * the end of the secret it holds last (an AWS secret access key): never those. A service
 * account's key file is named by its `client_email` instead, which is not secret.
 */
function describeCredential(credential: string): Pick<ProjectAccountRecord, 'hint' | 'serviceAccount'> {
  if (!credential.startsWith('{')) return { hint: credential.length >= HINT_MIN_LENGTH ? credential.slice(-4) : '' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(credential);
  } catch {
    return { hint: '' };
  }
  const email = typeof parsed === 'object' && parsed !== null && 'client_email' in parsed ? parsed.client_email : undefined;
  return typeof email === 'string' && /^[^@\s]+@[^@\s]+$/.test(email) && email.length <= 254 ? { hint: '', serviceAccount: email } : { hint: '' };
}

const MAX_CREDENTIAL_BYTES = 64 * 1024;

async function addAccount(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'providers add';
  const { values } = parseCommandArgs(command, args, {
    project: { type: 'string' },
    name: { type: 'string' },
    kind: { type: 'string' },
    'credential-from-env': { type: 'string' },
    'credential-file': { type: 'string' },
    'base-url': { type: 'string' },
    options: { type: 'string' },
    unpriced: { type: 'string' },
    'unpriced-block-minutes': { type: 'string' },
  });
  const project = nonEmpty(values.project, '--project', command);
  if (project === undefined) throw new UsageError('--project is required: the project whose keys the account serves', command);
  const name = accountName(values.name, command);
  const kind = values.kind;
  if (kind === undefined || !isProviderId(kind)) {
    throw new UsageError(`--kind must be one of ${PROVIDER_IDS.join(', ')}${kind === undefined ? '' : `, not "${kind}"`}`, command);
  }
  const options = parseOptions(values.options, command);
  const baseUrl = nonEmpty(values['base-url'], '--base-url', command);
  const unpriced = unpricedPolicy(values.unpriced, values['unpriced-block-minutes'], command);
  const createdAt = now(io).toISOString();
  // Checked as the gateway will read it, before any credential is stored anywhere.
  const draft: ProjectAccountRecord = {
    project,
    name,
    kind,
    ...(baseUrl !== undefined && { baseUrl }),
    ...(options !== undefined && { options }),
    ...unpriced,
    credential: { kind: 'secret', secretId: '-' },
    hint: '',
    createdAt,
  };
  try {
    resolveProjectAccount(draft);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message, command);
    throw error;
  }
  const credential = await readCredential(values, io, command);

  const stack = io.env['TOLLGATE_STACK'];
  if (stack === undefined && (io.env['TOLLGATE_STORE'] ?? 'sqlite') === 'dynamodb' && !io.env['TOLLGATE_DYNAMODB_ENDPOINT']) {
    throw new UsageError(
      "a deployed stack's gateway reads project credentials from its Secrets Manager prefix: name the stack (tollgate --stack <name> --region <region> providers add …)",
      command,
    );
  }
  const secrets = stack === undefined ? undefined : await stackSecrets(stack, io.env);
  try {
    const stored: StoredCredential = secrets
      ? { kind: 'secret', secretId: await secrets.put(project, name, credential) }
      : { kind: 'sealed', sealed: sealCredential(credential, localKey(io), sealingContext({ project, name })) };
    const record: ProjectAccountRecord = { ...draft, credential: stored, ...describeCredential(credential) };
    const added = await withStore(io, async (store) => {
      await store.createProject({ name: project, createdAt });
      return store.addProjectAccount(record);
    }).catch(async (error: unknown) => {
      if (stored.kind === 'secret') await secrets?.remove(stored.secretId).catch(() => undefined);
      throw error;
    });
    if (!added) {
      if (stored.kind === 'secret') await secrets?.remove(stored.secretId).catch(() => undefined);
      throw new CliFailure(`project "${project}" already has a provider account named "${name}"; remove it first (tollgate providers remove ${name} --project ${project})`);
    }

    const view = accountView(record);
    if (values.json) printJson(io.stdout, view);
    else {
      const where = stored.kind === 'sealed' ? 'encrypted in the local store' : `in Secrets Manager as ${stored.secretId}`;
      const ends =
        view.serviceAccount !== null ? ` (service account ${view.serviceAccount})` : view.credentialEndsWith === null ? '' : ` (ending "${view.credentialEndsWith}")`;
      io.stdout.write(
        `Added provider account "${name}" (${kind}) to project "${project}"; its credential${ends} is stored ${where}.\n` +
          `Keys of project "${project}" now use it in place of the gateway's own ${kind} accounts, and may name it as route "${name}".${unpricedNote(view)} ${SETTINGS_DELAY}\n`,
      );
    }
    return 0;
  } finally {
    secrets?.close();
  }
}

async function listAccounts(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'providers list';
  const { values } = parseCommandArgs(command, args, { project: { type: 'string' } });
  const project = nonEmpty(values.project, '--project', command);
  const records = await withStore(io, (store) => store.listProjectAccounts(project));
  if (values.json) {
    printJson(io.stdout, records.map(accountView));
    return 0;
  }
  if (records.length === 0) {
    io.stdout.write(`No project provider accounts${project === undefined ? '' : ` in project "${project}"`}: its keys use the gateway's own. Add one with: tollgate providers add --project <p> --name <n> --kind <kind> ...\n`);
    return 0;
  }
  printTable(
    io.stdout,
    [{ header: 'PROJECT' }, { header: 'NAME' }, { header: 'KIND' }, { header: 'CREDENTIAL' }, { header: 'STORED' }, { header: 'UNPRICED' }, { header: 'BASE URL' }, { header: 'CREATED' }],
    records.map((record) => {
      const view = accountView(record);
      return [
        view.project,
        view.name,
        view.kind,
        view.serviceAccount ?? (view.credentialEndsWith === null ? '-' : `...${view.credentialEndsWith}`),
        view.storedIn === 'sealed' ? 'sealed (local)' : 'secrets manager',
        view.unpricedBlockMinutes === null ? view.unpriced : `block ${view.unpricedBlockMinutes} min`,
        orDash(view.baseUrl ?? undefined),
        shortTime(view.createdAt),
      ];
    }),
  );
  return 0;
}

async function removeAccount(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'providers remove';
  const { values, positionals } = parseCommandArgs(command, args, { project: { type: 'string' }, name: { type: 'string' } }, 1);
  const project = nonEmpty(values.project, '--project', command);
  if (project === undefined) throw new UsageError('--project is required', command);
  if (positionals[0] !== undefined && values.name !== undefined && positionals[0] !== values.name) throw new UsageError('give the account name once', command);
  const name = accountName(positionals[0] ?? values.name, command);

  const removed = await withStore(io, (store) => store.removeProjectAccount(project, name));
  if (!removed) throw new CliFailure(`project "${project}" has no provider account named "${name}" (see "tollgate providers list --project ${project}")`);
  let secretNote = '';
  if (removed.credential.kind === 'secret') {
    const stack = io.env['TOLLGATE_STACK'];
    if (stack === undefined) secretNote = ` Its secret ${removed.credential.secretId} is left in Secrets Manager: name the stack (--stack) to have it deleted, or delete it yourself.`;
    else {
      const secrets = await stackSecrets(stack, io.env);
      try {
        await secrets.remove(removed.credential.secretId);
        secretNote = ` Its secret ${removed.credential.secretId} is deleted.`;
      } finally {
        secrets.close();
      }
    }
  }
  if (values.json) printJson(io.stdout, accountView(removed));
  else io.stdout.write(`Removed provider account "${name}" from project "${project}".${secretNote} ${SETTINGS_DELAY}\n`);
  return 0;
}

function accountName(given: string | undefined, command: string): string {
  if (given === undefined) throw new UsageError('--name is required: the account name, also its route name for the project\'s keys', command);
  if (!ACCOUNT_NAME.test(given)) throw new UsageError('an account name is lower-case letters, digits and "-", starting with a letter or digit (it is a route name)', command);
  if (BUILT_IN_ROUTES.has(given)) throw new UsageError(`"${given}" is a route every gateway already has; choose another name, such as "${given}-own"`, command);
  return given;
}

/** `--unpriced` as the record stores it: nothing for the default, `reject`, as records made before the flag. */
function unpricedPolicy(policy: string | undefined, minutes: string | undefined, command: string): Pick<ProjectAccountRecord, 'unpriced' | 'unpricedBlockMinutes'> {
  if (policy !== undefined && !(UNPRICED_POLICIES as readonly string[]).includes(policy)) {
    throw new UsageError(`--unpriced must be one of ${UNPRICED_POLICIES.join(', ')}, not "${policy}"`, command);
  }
  if (minutes === undefined) return policy === undefined || policy === 'reject' ? {} : { unpriced: policy as 'allow' | 'block' };
  if (policy !== 'block') throw new UsageError('--unpriced-block-minutes goes with --unpriced block', command);
  if (!/^[1-9][0-9]{0,6}$/.test(minutes)) throw new UsageError(`--unpriced-block-minutes must be a whole number of minutes above 0, not "${minutes}"`, command);
  return { unpriced: 'block', unpricedBlockMinutes: Number(minutes) };
}

/** Said when an account is added with a policy other than the default. */
function unpricedNote(view: ProviderAccountView): string {
  switch (view.unpriced) {
    case 'reject':
      return '';
    case 'allow':
      return ' A model tollgate has no price for is forwarded on it and recorded at no cost.';
    case 'block':
      return ` A model tollgate has no price for is forwarded on it, then the key is blocked for ${view.unpricedBlockMinutes} minutes.`;
  }
}

function parseOptions(text: string | undefined, command: string): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError('--options must be a JSON object, e.g. \'{"project": "acme-ai", "location": "europe-west4"}\'', command);
  }
}

/**
 * From an environment variable, a file, or standard input — never the command line, which other
 * users can read in the process list. Surrounding whitespace (a file's last newline) is dropped.
 */
async function readCredential(values: { 'credential-from-env'?: string | undefined; 'credential-file'?: string | undefined }, io: CliIo, command: string): Promise<string> {
  const variable = values['credential-from-env'];
  const file = values['credential-file'];
  if (variable !== undefined && file !== undefined) throw new UsageError('give one of --credential-from-env and --credential-file', command);
  let text: string;
  let from: string;
  if (variable !== undefined) {
    text = io.env[variable] ?? '';
    from = `environment variable ${variable}`;
  } else if (file !== undefined && file !== '-') {
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      // The code only: a message could carry more of the path's surroundings than needed, never the content.
      throw new CliFailure(`cannot read the credential file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    from = `file ${file}`;
  } else {
    const stdin = io.stdin;
    if (!stdin || stdin.isTTY === true) {
      throw new UsageError('give the credential with --credential-from-env <VAR> or --credential-file <path>, or pipe it on standard input', command);
    }
    text = await readAll(stdin);
    from = 'standard input';
  }
  const credential = text.trim();
  if (credential === '') throw new CliFailure(`no credential in ${from}: it is empty or unset`);
  if (Buffer.byteLength(credential) > MAX_CREDENTIAL_BYTES) throw new CliFailure(`the credential in ${from} is over ${MAX_CREDENTIAL_BYTES / 1024} KiB: is it the right file?`);
  return credential;
}

async function readAll(stream: AsyncIterable<unknown>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
    chunks.push(bytes);
    size += bytes.byteLength;
    if (size > MAX_CREDENTIAL_BYTES * 2) break;
  }
  return Buffer.concat(chunks).toString('utf8');
}

function localKey(io: CliIo) {
  const key = localSecretKey(io.env, { create: true });
  if (!key) throw new CliFailure('could not create the secret key file');
  return key;
}
