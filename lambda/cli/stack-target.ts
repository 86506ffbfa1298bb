import { DEFAULT_DATA_DIR } from '../app/open-store';
import { CliFailure, UsageError, type CliIo } from './io';

const OPTIONS = {
  '--stack': 'stack',
  '--region': 'region',
  '--keys-table': 'keysTable',
  '--spend-table': 'spendTable',
} as const;

type Target = Partial<Record<(typeof OPTIONS)[keyof typeof OPTIONS], string>>;

/**
 * Leading options that point any command at a deployed stack's DynamoDB tables, with the caller's
 * own AWS credentials — administration is IAM, not an HTTP endpoint:
 *
 * ```sh
 * tollgate --stack Tollgate-eu-west-1 --region eu-west-1 --keys-table <name> --spend-table <name> keys create --project acme
 * ```
 * They become the store settings the commands already read (`TOLLGATE_STORE=dynamodb`,
 * `TOLLGATE_KEYS_TABLE`, …, and `TOLLGATE_STACK`); the rest of the command line is left as it was. With `--stack` and
 * no table names, they are read from the stack's outputs (`KeysTableName`, `SpendTableName`).
 */
export async function applyStackTarget(argv: readonly string[], io: CliIo): Promise<{ argv: readonly string[]; io: CliIo }> {
  const target: Target = {};
  let index = 0;
  while (index < argv.length) {
    const arg = argv[index] ?? '';
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (!Object.hasOwn(OPTIONS, flag)) break;
    const value = inline ?? argv[index + 1];
    if (value === undefined || value === '' || (inline === undefined && value.startsWith('-'))) throw new UsageError(`${flag} needs a value`);
    target[OPTIONS[flag as keyof typeof OPTIONS]] = value;
    index += inline === undefined ? 2 : 1;
  }
  if (index === 0) return { argv, io };

  const env: NodeJS.ProcessEnv = { ...io.env, TOLLGATE_STORE: 'dynamodb' };
  // A deployed stack is never behind a local engine's endpoint.
  delete env['TOLLGATE_DYNAMODB_ENDPOINT'];
  if (target.region) env['AWS_REGION'] = target.region;
  // `providers add` puts a project's credential in the stack's Secrets Manager prefix, named after it.
  if (target.stack) env['TOLLGATE_STACK'] = target.stack;
  if (target.keysTable) env['TOLLGATE_KEYS_TABLE'] = target.keysTable;
  if (target.spendTable) env['TOLLGATE_SPEND_TABLE'] = target.spendTable;
  if (!env['TOLLGATE_KEYS_TABLE'] || !env['TOLLGATE_SPEND_TABLE']) {
    if (!target.stack) throw new UsageError('a deployed stack needs --stack, or its table names (--keys-table and --spend-table)');
    const outputs = await stackOutputs(target.stack, env);
    env['TOLLGATE_KEYS_TABLE'] ||= tableOutput(outputs, 'KeysTableName', target.stack);
    env['TOLLGATE_SPEND_TABLE'] ||= tableOutput(outputs, 'SpendTableName', target.stack);
  }
  return { argv: argv.slice(index), io: { ...io, env } };
}

/**
 * Where a command's keys and spend go, for the message that confirms a write: a key issued into
 * the local SQLite file by mistake is otherwise only found when the deployed gateway refuses it.
 */
export function describeStoreTarget(env: NodeJS.ProcessEnv): string {
  if ((env['TOLLGATE_STORE'] ?? 'sqlite') === 'sqlite') {
    return `the local SQLite store in ${env['TOLLGATE_DATA_DIR'] ?? DEFAULT_DATA_DIR}/, which only \`tollgate serve\` reads (for a deployed stack, put --stack <name> --region <region> before the command)`;
  }
  const region = env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'];
  return `DynamoDB table ${env['TOLLGATE_KEYS_TABLE'] ?? '(unset)'}${region ? ` in ${region}` : ''}`;
}

/** `Tollgate-eu-west-1` → `eu-west-1`: the stacks `bin/cdk-app.ts` creates are named after their region. */
function regionInStackName(stack: string): string | undefined {
  return /-((?:[a-z]{2}(?:-gov)?|cn)-[a-z]+-\d)$/.exec(stack)?.[1];
}

/** DescribeStacks with the caller's own credentials; loaded only when a stack is named. */
export async function stackOutputs(stack: string, env: NodeJS.ProcessEnv): Promise<Map<string, string>> {
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const region = env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'];
  const endpoint = env['AWS_ENDPOINT_URL_CLOUDFORMATION'];
  const accessKeyId = env['AWS_ACCESS_KEY_ID'];
  const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
  const client = new CloudFormationClient({
    ...(region && { region }),
    ...(endpoint && { endpoint }),
    ...(accessKeyId && secretAccessKey && { credentials: { accessKeyId, secretAccessKey, ...(env['AWS_SESSION_TOKEN'] && { sessionToken: env['AWS_SESSION_TOKEN'] }) } }),
  });
  try {
    // A stack lives in one region: without one the SDK's own error ("Region is missing") would be
    // reported as a stack that cannot be read, and the table names suggested instead need it too.
    const known = await client.config.region().then(
      (value) => value,
      () => undefined,
    );
    if (!known) {
      const guess = regionInStackName(stack);
      throw new UsageError(`--stack ${stack} needs the stack's region: add ${guess ? `--region ${guess}` : '--region <region>'} (or set AWS_REGION)`);
    }
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: stack }));
    return new Map((Stacks?.[0]?.Outputs ?? []).flatMap((o) => (o.OutputKey && o.OutputValue ? [[o.OutputKey, o.OutputValue] as const] : [])));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliFailure(`could not read the outputs of stack ${stack}${region ? ` in ${region}` : ''}: ${reason}. Pass --keys-table and --spend-table instead.`);
  } finally {
    client.destroy();
  }
}

function tableOutput(outputs: Map<string, string>, key: string, stack: string): string {
  const value = outputs.get(key);
  if (!value) throw new CliFailure(`stack ${stack} has no ${key} output: is it a tollgate stack?`);
  return value;
}
