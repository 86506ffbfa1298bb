import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { appFromEntryPoint } from './support/entry-point';

/** cfn-lint (Python, not an npm package): where it is installed, as on the CI image, every template must pass it. */
const cfnLint = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
const installed = cfnLint.status === 0;
if (!installed) process.stderr.write('cfn-lint is not installed: test/infra/cfn-lint.test.ts is skipped (pip install cfn-lint)\n');

/**
 * The templates `cdk synth` writes, linted as CloudFormation sees them: property types and
 * values, resource ids, ARN formats, region availability. The repository's `.cfnlintrc.yaml` says
 * which checks are off, and why.
 */
(installed ? describe : describe.skip)('cfn-lint on every synthesized template', () => {
  test.each([
    ['two regions', { regions: 'us-east-1,eu-west-1', alarmEmail: 'ops@example.com' }],
    ['two regions behind the CloudFront front', { regions: 'us-east-1,eu-west-1', front: 'cloudfront' }],
  ])('%s: no error, warning or informational finding', (_name, context) => {
    // GIVEN the templates of the app's entry point
    const assembly = appFromEntryPoint(context).synth();
    const templates = assembly.stacks.map((stack) => join(assembly.directory, stack.templateFile));

    // WHEN
    const lint = spawnSync('cfn-lint', ['--', ...templates], { cwd: join(__dirname, '..', '..'), encoding: 'utf8' });
    rmSync(assembly.directory, { recursive: true, force: true });

    // THEN
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);
  }, 120_000);
});
