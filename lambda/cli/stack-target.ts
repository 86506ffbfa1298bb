import { UsageError, type CliIo } from './io';

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
 * `TOLLGATE_KEYS_TABLE`, …); the rest of the command line is left as it was.
 *
 * Looking the table names up from the stack's outputs would need
 * `@aws-sdk/client-cloudformation`, which is not a dependency, so `--stack` alone asks for them.
 */
export function applyStackTarget(argv: readonly string[], io: CliIo): { argv: readonly string[]; io: CliIo } {
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
  if (target.keysTable) env['TOLLGATE_KEYS_TABLE'] = target.keysTable;
  if (target.spendTable) env['TOLLGATE_SPEND_TABLE'] = target.spendTable;
  if (!env['TOLLGATE_KEYS_TABLE'] || !env['TOLLGATE_SPEND_TABLE']) {
    const stack = target.stack ?? '<stack>';
    const region = target.region ?? env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'] ?? '<region>';
    throw new UsageError(
      `${target.stack ? `--stack ${target.stack}` : 'a deployed stack'} needs its table names. Reading them from the stack outputs needs ` +
        '@aws-sdk/client-cloudformation, which is not installed; pass --keys-table and --spend-table (or set TOLLGATE_KEYS_TABLE and ' +
        `TOLLGATE_SPEND_TABLE), as listed by:\n  aws cloudformation describe-stacks --stack-name ${stack} --region ${region} --query "Stacks[0].Outputs"`,
    );
  }
  return { argv: argv.slice(index), io: { ...io, env } };
}
