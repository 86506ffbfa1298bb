import { Stack, Token, type StackProps } from 'aws-cdk-lib';
import { CfnWebACL } from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';

/** Options for {@link TollgateEdgeStack}. */
export interface TollgateEdgeStackProps extends StackProps {
  /**
   * Requests one client IP may make in 5 minutes before WAF answers it 429 itself, without the
   * request reaching Lambda. Clients behind one NAT share it.
   *
   * @default 3000 - 10 a second, sustained for 5 minutes
   */
  readonly rateLimitPer5Minutes?: number;
}

/**
 * The WAF web ACL in front of a region's CloudFront distribution. CloudFront takes web ACLs only
 * from us-east-1, so this is a stack of its own there, one per gateway region, whose ARN the
 * region's stack reads (a cross-region reference). Three rules, in order: AWS's list of IPs with a
 * bad reputation, AWS's known-bad-input patterns, and a per-IP rate limit. Not AWS's common rule
 * set: its 8 KB body limit would block ordinary prompts.
 *
 * @example
 * const edge = new TollgateEdgeStack(app, 'Tollgate-eu-west-1-edge', { env: { region: 'us-east-1' }, crossRegionReferences: true });
 * new TollgateStack(app, 'Tollgate-eu-west-1', { env: { region: 'eu-west-1' }, crossRegionReferences: true, front: { webAclArn: edge.webAcl.attrArn } });
 */
export class TollgateEdgeStack extends Stack {
  readonly webAcl: CfnWebACL;

  constructor(scope: Construct, id: string, props: TollgateEdgeStackProps = {}) {
    super(scope, id, props);
    if (!Token.isUnresolved(this.region) && this.region !== 'us-east-1') {
      throw new Error(`TollgateEdgeStack must be deployed to us-east-1 (CloudFront takes web ACLs only from there), got ${this.region}`);
    }
    const limit = props.rateLimitPer5Minutes ?? 3000;
    if (!Number.isInteger(limit) || limit < 10 || limit > 2_000_000_000) {
      throw new Error(`TollgateEdgeStack rateLimitPer5Minutes must be a whole number from 10 to 2000000000 (WAF's range), got ${limit}`);
    }
    const visibility = (metricName: string): CfnWebACL.VisibilityConfigProperty => ({ cloudWatchMetricsEnabled: true, metricName, sampledRequestsEnabled: true });
    const managed = (priority: number, name: string): CfnWebACL.RuleProperty => ({
      name,
      priority,
      statement: { managedRuleGroupStatement: { vendorName: 'AWS', name } },
      overrideAction: { none: {} },
      visibilityConfig: visibility(name),
    });
    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      description: `tollgate: the front of ${this.stackName}`,
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('tollgate'),
      // A 429 is what the SDKs back off and retry on; WAF's default block is a 403.
      customResponseBodies: {
        'rate-limited': { contentType: 'APPLICATION_JSON', content: '{"error":{"message":"Too many requests from this address: slow down.","type":"rate_limit_error","code":"rate_limited"}}' },
      },
      rules: [
        managed(0, 'AWSManagedRulesAmazonIpReputationList'),
        managed(1, 'AWSManagedRulesKnownBadInputsRuleSet'),
        {
          name: 'RatePerIp',
          priority: 2,
          statement: { rateBasedStatement: { limit, aggregateKeyType: 'IP', evaluationWindowSec: 300 } },
          action: { block: { customResponse: { responseCode: 429, customResponseBodyKey: 'rate-limited', responseHeaders: [{ name: 'retry-after', value: '60' }] } } },
          visibilityConfig: visibility('RatePerIp'),
        },
      ],
    });
  }
}
