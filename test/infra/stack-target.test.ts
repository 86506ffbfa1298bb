import { applyStackTarget } from '../../lambda/cli/stack-target';
import { UsageError, type CliIo } from '../../lambda/cli/io';
import { run } from '../cli/run';

const io = (env: NodeJS.ProcessEnv): CliIo => ({ env, stdout: { write: () => true }, stderr: { write: () => true } });

describe('tollgate --stack/--region/--keys-table/--spend-table', () => {
  it('points the command at the deployed tables with the caller\'s credentials, leaving the rest of the command line alone', () => {
    // WHEN
    const target = applyStackTarget(
      ['--stack', 'Tollgate-eu-west-1', '--region=eu-west-1', '--keys-table', 'K', '--spend-table', 'S', 'keys', 'create', '--project', 'acme'],
      io({ TOLLGATE_STORE: 'sqlite', TOLLGATE_DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000', AWS_PROFILE: 'ops' }),
    );

    // THEN
    expect(target.argv).toEqual(['keys', 'create', '--project', 'acme']);
    expect(target.io.env).toEqual({ TOLLGATE_STORE: 'dynamodb', AWS_REGION: 'eu-west-1', TOLLGATE_KEYS_TABLE: 'K', TOLLGATE_SPEND_TABLE: 'S', AWS_PROFILE: 'ops' });
  });

  it('takes table names from the environment when the flags are absent', () => {
    // WHEN
    const target = applyStackTarget(['--region', 'us-east-1', 'spend'], io({ TOLLGATE_KEYS_TABLE: 'K', TOLLGATE_SPEND_TABLE: 'S' }));

    // THEN
    expect(target.argv).toEqual(['spend']);
    expect(target.io.env).toMatchObject({ TOLLGATE_STORE: 'dynamodb', AWS_REGION: 'us-east-1' });
  });

  it('changes nothing without its options', () => {
    const given = io({ TOLLGATE_STORE: 'sqlite' });
    expect(applyStackTarget(['keys', 'list', '--region', 'x'], given)).toEqual({ argv: ['keys', 'list', '--region', 'x'], io: given });
  });

  it('explains how to get the table names when only the stack is given (reading outputs needs @aws-sdk/client-cloudformation)', async () => {
    // WHEN
    const result = await run(['--stack', 'Tollgate-eu-west-1', '--region', 'eu-west-1', 'keys', 'list'], {});

    // THEN
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--stack Tollgate-eu-west-1 needs its table names');
    expect(result.stderr).toContain('aws cloudformation describe-stacks --stack-name Tollgate-eu-west-1 --region eu-west-1 --query "Stacks[0].Outputs"');
  });

  it('refuses an option without its value', () => {
    expect(() => applyStackTarget(['--region', '--keys-table', 'K'], io({}))).toThrow(UsageError);
  });
});
