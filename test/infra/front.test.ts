import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { LAMBDA_ENV, ORIGIN_HEADER } from '../../lambda/handlers/env';
import { TollgateEdgeStack } from '../../lib/edge';
import { TollgateStack, type TollgateStackProps } from '../../lib/tollgate-stack';
import { APP_CONTEXT, appFromEntryPoint } from './support/entry-point';

const WEB_ACL = 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/tollgate/0f1e2d3c';

function synth(props: TollgateStackProps = { front: { webAclArn: WEB_ACL } }) {
  const stack = new TollgateStack(new App({ context: APP_CONTEXT }), 'Test', { env: { account: '123456789012', region: 'us-east-1' }, ...props });
  return { stack, template: Template.fromStack(stack) };
}

describe('the CloudFront + WAF front (-c front=cloudfront)', () => {
  test('puts a distribution before the function URL: the web ACL, no caching, every viewer header but Host, bytes uncompressed, HTTPS only', () => {
    // WHEN
    const { stack, template } = synth();

    // THEN
    template.resourceCountIs('AWS::CloudFront::Distribution', 1);
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        WebACLId: WEB_ACL,
        DefaultCacheBehavior: Match.objectLike({
          AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
          CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad', // Managed-CachingDisabled: also what lets Authorization through
          OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac', // Managed-AllViewerExceptHostHeader
          Compress: false,
          ViewerProtocolPolicy: 'https-only',
        }),
        Origins: [
          Match.objectLike({
            DomainName: { 'Fn::Select': [2, { 'Fn::Split': ['/', { 'Fn::GetAtt': [stack.getLogicalId(stack.proxy.url.node.defaultChild as never), 'FunctionUrl'] }] }] },
            CustomOriginConfig: Match.objectLike({ OriginProtocolPolicy: 'https-only', OriginReadTimeout: 60, OriginSSLProtocols: ['TLSv1.2'] }),
            // The secret's value is resolved by CloudFormation at deploy time: the template holds only a reference.
            OriginCustomHeaders: [{ HeaderName: ORIGIN_HEADER, HeaderValue: { 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: Match.stringLikeRegexp('^OriginSecret') }, ':SecretString:::}}']] } }],
          }),
        ],
      }),
    });
    template.hasOutput('FrontUrl', { Value: { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [Match.stringLikeRegexp('^FrontDistribution'), 'DomainName'] }, '/']] } });
  });

  test('the origin secret is generated at deploy time (letters and digits, a valid header value), and only the proxy may read it', () => {
    // WHEN
    const { stack, template } = synth();

    // THEN
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 48, ExcludePunctuation: true, IncludeSpace: false },
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SecretsKey'), 'Arn'] },
    });
    const secretRef = { Ref: Match.stringLikeRegexp('^OriginSecret') };
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Timeout: 900,
      Environment: { Variables: Match.objectLike({ [LAMBDA_ENV.originSecret]: secretRef }) },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^ProxyFunctionServiceRole') }],
      PolicyDocument: { Statement: Match.arrayWith([{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: secretRef }]) },
    });
    expect(stack.front?.originReadTimeout.toSeconds()).toBe(60);
  });

  test('the upstream waits end 5 s before CloudFront gives up, so the gateway answers and settles first; a longer configured wait fails synth', () => {
    // WHEN
    const { stack } = synth();
    const longer = synth({ front: { webAclArn: WEB_ACL, originReadTimeout: Duration.seconds(180) } }).stack;

    // THEN
    expect(stack.resolve(stack.proxy.gatewayConfig)).toMatchObject({ upstream: { firstByteTimeoutMs: 55_000, idleTimeoutMs: 55_000 } });
    expect(longer.resolve(longer.proxy.gatewayConfig)).toMatchObject({ upstream: { firstByteTimeoutMs: 175_000, idleTimeoutMs: 175_000 } });
    expect(() => synth({ front: { webAclArn: WEB_ACL }, gatewayConfig: { upstream: { firstByteTimeoutMs: 120_000 } } })).toThrow(
      'upstream.firstByteTimeoutMs (120000) must end 5 s before the CloudFront front gives up (its origin read timeout is 60 s), so the gateway answers and settles first: at most 55000',
    );
    expect(() => synth({ front: { webAclArn: WEB_ACL, originReadTimeout: Duration.seconds(300) } })).toThrow(/originReadTimeout must be a whole number of seconds from 10 to 180/);
  });

  test('without it there is no distribution, no origin secret, and the function serves every request', () => {
    // WHEN
    const { stack, template } = synth({});

    // THEN
    template.resourceCountIs('AWS::CloudFront::Distribution', 0);
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    expect(stack.front).toBeUndefined();
    expect(Object.keys(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: Match.objectLike({ [LAMBDA_ENV.originSecret]: Match.anyValue() }) } } }))).toEqual([]);
    expect(Object.keys(template.toJSON().Outputs)).not.toContain('FrontUrl');
  });
});

describe('TollgateEdgeStack', () => {
  const edge = (props: ConstructorParameters<typeof TollgateEdgeStack>[2] = {}) =>
    Template.fromStack(new TollgateEdgeStack(new App({ context: APP_CONTEXT }), 'Edge', { env: { account: '123456789012', region: 'us-east-1' }, ...props }));

  test('a CloudFront-scope web ACL: bad-reputation IPs, known bad inputs, then a per-IP rate limit answered 429 with Retry-After', () => {
    // THEN
    edge().hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'CLOUDFRONT',
      DefaultAction: { Allow: {} },
      Rules: [
        Match.objectLike({ Priority: 0, Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesAmazonIpReputationList' } }, OverrideAction: { None: {} } }),
        Match.objectLike({ Priority: 1, Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesKnownBadInputsRuleSet' } } }),
        Match.objectLike({
          Name: 'RatePerIp',
          Priority: 2,
          Statement: { RateBasedStatement: { Limit: 3000, AggregateKeyType: 'IP', EvaluationWindowSec: 300 } },
          Action: { Block: { CustomResponse: { ResponseCode: 429, CustomResponseBodyKey: 'rate-limited', ResponseHeaders: [{ Name: 'retry-after', Value: '60' }] } } },
        }),
      ],
    });
  });

  test('not AWS\'s common rule set, whose 8 KB body limit would block ordinary prompts', () => {
    expect(JSON.stringify(edge().toJSON())).not.toContain('AWSManagedRulesCommonRuleSet');
  });

  test('the rate limit can be changed, within WAF\'s range, and the stack must be in us-east-1', () => {
    edge({ rateLimitPer5Minutes: 600 }).hasResourceProperties('AWS::WAFv2::WebACL', { Rules: Match.arrayWith([Match.objectLike({ Statement: { RateBasedStatement: Match.objectLike({ Limit: 600 }) } })]) });
    expect(() => edge({ rateLimitPer5Minutes: 5 })).toThrow(/rateLimitPer5Minutes must be a whole number from 10/);
    expect(() => new TollgateEdgeStack(new App({ context: APP_CONTEXT }), 'Edge', { env: { region: 'eu-west-1' } })).toThrow(/must be deployed to us-east-1/);
  });
});

describe('bin/cdk-app.ts with -c front=cloudfront', () => {
  test('adds an edge stack in us-east-1 per region, whose web ACL each regional stack\'s distribution uses', () => {
    // WHEN
    const stacks = appFromEntryPoint({ regions: 'us-east-1,eu-west-1', front: 'cloudfront', frontRateLimit: '1200' }).node.children.filter(Stack.isStack);

    // THEN
    expect(stacks.map((s) => [s.stackName, s.region])).toEqual([
      ['Tollgate-us-east-1-edge', 'us-east-1'],
      ['Tollgate-us-east-1', 'us-east-1'],
      ['Tollgate-eu-west-1-edge', 'us-east-1'],
      ['Tollgate-eu-west-1', 'eu-west-1'],
    ]);
    for (const name of ['Tollgate-us-east-1', 'Tollgate-eu-west-1']) {
      const regional = stacks.find((s) => s.stackName === name)!;
      const template = Template.fromStack(regional); // references resolve (and dependencies appear) as it synthesises
      template.resourceCountIs('AWS::CloudFront::Distribution', 1);
      expect(regional.dependencies.map((s) => s.stackName)).toEqual([`${name}-edge`]);
      Template.fromStack(stacks.find((s) => s.stackName === `${name}-edge`)!).hasResourceProperties('AWS::WAFv2::WebACL', {
        Rules: Match.arrayWith([Match.objectLike({ Statement: { RateBasedStatement: Match.objectLike({ Limit: 1200 }) } })]),
      });
    }
    // AND the region outside us-east-1 reads the ARN through CDK's cross-region reference (SSM in us-east-1), the other through an export
    const webAclOf = (name: string) =>
      (Object.values(Template.fromStack(stacks.find((s) => s.stackName === name)!).findResources('AWS::CloudFront::Distribution'))[0]!['Properties'] as { DistributionConfig: { WebACLId: unknown } }).DistributionConfig.WebACLId;
    expect(webAclOf('Tollgate-us-east-1')).toEqual({ 'Fn::ImportValue': expect.stringContaining('Tollgate-us-east-1-edge') });
    expect(webAclOf('Tollgate-eu-west-1')).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ExportsReader/), expect.stringContaining('WebAclArn')] });
  });

  test('refuses a front it does not know, saying which it does', () => {
    expect(() => appFromEntryPoint({ front: 'apigateway' })).toThrow('-c front must be "cloudfront" or "none", got "apigateway"');
  });
});
