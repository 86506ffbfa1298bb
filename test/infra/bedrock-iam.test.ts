import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { BEDROCK_ACTIONS } from '../../lib/proxy';
import { TollgateStack, type TollgateStackProps } from '../../lib/tollgate-stack';
import { tempDir } from '../cli/run';
import { APP_CONTEXT, appFromEntryPoint } from './support/entry-point';

function synth(props?: TollgateStackProps) {
  const stack = new TollgateStack(new App({ context: APP_CONTEXT }), 'Test', { env: { account: '123456789012', region: 'eu-west-1' }, ...props });
  return Template.fromStack(stack);
}

type Json = Record<string, unknown>;

/** The resources of the proxy role's Bedrock statement, or undefined when it has none. */
function bedrockResources(template: Template): unknown[] | undefined {
  const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) => ((policy['Properties'] as Json)['PolicyDocument'] as { Statement: Array<{ Action: string | string[]; Resource: unknown }> }).Statement,
  );
  const bedrock = statements.filter((statement) => [statement.Action].flat().some((action) => action.startsWith('bedrock:')));
  if (bedrock.length === 0) return undefined;
  expect(bedrock).toHaveLength(1);
  expect(bedrock[0]!.Action).toEqual([...BEDROCK_ACTIONS]);
  return [bedrock[0]!.Resource].flat();
}

const profiles = (region: string) => [
  `arn:aws:bedrock:${region}:123456789012:inference-profile/*`,
  `arn:aws:bedrock:${region}:123456789012:application-inference-profile/*`,
];

describe('the proxy role\'s Bedrock grant follows the config\'s Bedrock accounts', () => {
  test('by default: foundation models anywhere (cross-region profiles run them elsewhere), profiles in the stack\'s region, where the default account calls', () => {
    expect(bedrockResources(synth())).toEqual(['arn:aws:bedrock:*::foundation-model/*', ...profiles('eu-west-1')]);
  });

  test('an account the config points at another region gets that region\'s profiles, not the stack\'s', () => {
    // WHEN the default account calls us-west-2
    const resources = bedrockResources(synth({ gatewayConfig: { providers: { bedrock: { options: { region: 'us-west-2' } } } } }));

    // THEN
    expect(resources).toEqual(['arn:aws:bedrock:*::foundation-model/*', ...profiles('us-west-2')]);
  });

  test('several accounts: each region once (sorted), whether from the options or from a regional base URL', () => {
    // WHEN
    const resources = bedrockResources(
      synth({
        gatewayConfig: {
          providers: {
            'bedrock-us': { kind: 'bedrock', options: { region: 'us-east-1' } },
            'bedrock-frankfurt': { kind: 'bedrock', baseUrl: 'https://bedrock-runtime.eu-central-1.amazonaws.com' },
            'bedrock-again': { kind: 'bedrock', options: { region: 'us-east-1' } },
          },
        },
      }),
    );

    // THEN
    expect(resources).toEqual(['arn:aws:bedrock:*::foundation-model/*', ...profiles('eu-central-1'), ...profiles('eu-west-1'), ...profiles('us-east-1')]);
  });

  test('an account with a credential of its own does not use the role; when none uses it, the role may not call Bedrock at all', () => {
    // WHEN the only Bedrock account signs with an access key from a secret
    const template = synth({ gatewayConfig: { providers: { bedrock: { credential: { secret: 'tollgate/Test/bedrock' } } } } });

    // THEN
    expect(bedrockResources(template)).toBeUndefined();
  });

  test('cdk-nag finds nothing unacknowledged with accounts in other regions', () => {
    // GIVEN a config file
    const dir = tempDir('tollgate-cdk-config-');
    const file = join(dir.path, 'tollgate.aws.json');
    writeFileSync(file, JSON.stringify({ providers: { 'bedrock-us': { kind: 'bedrock', options: { region: 'us-west-2' } } } }));
    try {
      // THEN synthesis, which runs the pack, succeeds
      expect(appFromEntryPoint({ regions: 'eu-west-1', config: file, nag: 'true' }).synth().stacks).toHaveLength(1);
    } finally {
      dir.remove();
    }
  });
});
