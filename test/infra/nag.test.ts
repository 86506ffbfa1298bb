import { Stack } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { appFromEntryPoint } from './support/entry-point';

/**
 * cdk-nag's AwsSolutions pack over the whole app, the CloudFront front included, as CI runs it
 * (`-c nag=true`): every finding left is acknowledged with its reason where its resource is made.
 */
describe('cdk-nag (AwsSolutions)', () => {
  test('finds nothing unacknowledged in any stack of a two-region app with the front', () => {
    // GIVEN
    const app = appFromEntryPoint({ regions: 'us-east-1,eu-west-1', front: 'cloudfront', nag: 'true' });

    // THEN synthesis (which runs the pack) succeeds, over all four stacks
    expect(app.synth().stacks.map((s) => s.stackName).sort()).toEqual(['Tollgate-eu-west-1', 'Tollgate-eu-west-1-edge', 'Tollgate-us-east-1', 'Tollgate-us-east-1-edge']);
  });

  test('is really running: a finding nobody acknowledged fails synthesis', () => {
    // GIVEN the same app, plus a secret with no rotation and no acknowledgement
    const app = appFromEntryPoint({ nag: 'true' });
    new Secret(new Stack(app, 'Unacknowledged'), 'Secret');

    // THEN
    expect(() => app.synth()).toThrow(/Unacknowledged\/Secret\/Resource[\s\S]*AwsSolutions-SMG4/);
  });
});
