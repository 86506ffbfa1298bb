import { FLAGS } from 'aws-cdk-lib/cx-api';
import { CDK_JSON_CONTEXT } from './support/entry-point';

/**
 * CDK keeps the behaviour of v2.0 behind every feature flag left unset; the recommended values are
 * the fixed and safer ones (`cdk init` writes them all). cdk.json sets each, so a construct added
 * later gets today's behaviour, and the infra tests load it, so they check what `cdk deploy` builds.
 */
describe('cdk.json feature flags', () => {
  /** Left at its v2 default on purpose, with the reason. */
  const KEPT: Record<string, string> = {
    '@aws-cdk/core:defaultCrossStackReferences':
      'strong (the default) where CDK recommends weak: CloudFormation then refuses to delete the edge stack\'s web ACL while a distribution uses it (bin/cdk-app.ts acknowledges the warning)',
    '@aws-cdk/core:enableAdditionalMetadataCollection':
      'false: it reports how constructs are used to AWS in the stack\'s CDKMetadata, and the app turns the CLI\'s telemetry off (cdk.json) for the same reason',
    '@aws-cdk/aws-iam:minimizePolicies':
      'false: each grant stays one statement, as lib/ writes it and the IAM tests check it; merging matters only near IAM\'s policy size limit, which these policies are far below',
  };

  test('sets every flag CDK recommends to its recommended value, but the ones kept on purpose', () => {
    // GIVEN the flags this aws-cdk-lib knows, with a value recommended over its v2 default
    const recommended = Object.entries(FLAGS).filter(([, flag]) => flag.recommendedValue !== undefined && flag.recommendedValue !== flag.unconfiguredBehavesLike?.v2);

    // THEN
    const wrong = recommended.filter(([name, flag]) => !(name in KEPT) && JSON.stringify(CDK_JSON_CONTEXT[name]) !== JSON.stringify(flag.recommendedValue)).map(([name]) => name);
    expect(wrong).toEqual([]);
    expect(Object.keys(KEPT).filter((name) => JSON.stringify(CDK_JSON_CONTEXT[name]) === JSON.stringify(FLAGS[name]?.recommendedValue))).toEqual([]);
  });
});
