import { Duration } from 'aws-cdk-lib';
import { AllowedMethods, CachePolicy, Distribution, HttpVersion, OriginRequestPolicy, PriceClass, ViewerProtocolPolicy } from 'aws-cdk-lib/aws-cloudfront';
import { FunctionUrlOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import type { IFunctionUrl } from 'aws-cdk-lib/aws-lambda';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ORIGIN_HEADER } from '../lambda/handlers/env';
import { acknowledge } from './nag';

/** CloudFront's own default, and the most it allows without a quota increase. */
export const DEFAULT_FRONT_READ_TIMEOUT = Duration.seconds(60);

export interface TollgateFrontProps {
  /** The proxy's function URL: the distribution's only origin. */
  readonly functionUrl: IFunctionUrl;
  /** A generated secret whose value CloudFront sends in {@link ORIGIN_HEADER}; the proxy refuses requests without it. */
  readonly originSecret: ISecret;
  /** A CLOUDFRONT-scope WAF web ACL (it lives in us-east-1): see `TollgateEdgeStack`. */
  readonly webAclArn: string;
  /**
   * How long CloudFront waits for the function's response to start, and between two pieces of it.
   * Over 60 s needs a CloudFront quota increase first (up to 180 s).
   *
   * @default Duration.seconds(60)
   */
  readonly originReadTimeout?: Duration;
}

/**
 * An optional front door for the proxy: CloudFront with a WAF web ACL (IP reputation, bad inputs,
 * a per-IP rate limit), so that a flood is answered at the edge instead of taking Lambda
 * concurrency. Nothing is cached and every viewer header but Host reaches the function (with
 * caching disabled CloudFront forwards `Authorization` too), so SDKs work through it unchanged;
 * compression is off, so bytes pass as the provider sent them. CloudFront adds a secret header
 * the function checks: a request sent to the function URL directly is refused, so the WAF cannot
 * be walked around (it still costs an invocation, which reserved concurrency bounds).
 *
 * @example
 * new TollgateFront(this, 'Front', { functionUrl: proxy.url, originSecret, webAclArn: edge.webAcl.attrArn });
 */
export class TollgateFront extends Construct {
  readonly distribution: Distribution;
  readonly originReadTimeout: Duration;

  constructor(scope: Construct, id: string, props: TollgateFrontProps) {
    super(scope, id);
    this.originReadTimeout = props.originReadTimeout ?? DEFAULT_FRONT_READ_TIMEOUT;
    const seconds = this.originReadTimeout.toSeconds({ integral: false });
    if (!Number.isInteger(seconds) || seconds < 10 || seconds > 180) {
      throw new Error(`TollgateFront originReadTimeout must be a whole number of seconds from 10 to 180 (CloudFront's range; over 60 needs a quota increase), got ${this.originReadTimeout.toHumanString()}`);
    }
    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'tollgate: the gateway behind WAF',
      webAclId: props.webAclArn,
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
      enableIpv6: true,
      defaultBehavior: {
        origin: new FunctionUrlOrigin(props.functionUrl, {
          // A dynamic reference: CloudFormation reads the value at deploy time; the template holds only the secret's ARN.
          customHeaders: { [ORIGIN_HEADER]: props.originSecret.secretValue.unsafeUnwrap() },
          readTimeout: this.originReadTimeout,
          keepaliveTimeout: Duration.seconds(60),
        }),
        allowedMethods: AllowedMethods.ALLOW_ALL,
        // SDKs send POSTs: a redirect from http would lose the body, so http is refused instead.
        viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
        cachePolicy: CachePolicy.CACHING_DISABLED,
        originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        compress: false,
      },
    });
    acknowledge(this.distribution, {
      CFR1: "A gateway for the operator's own clients, wherever they are; a geographic restriction belongs in the web ACL if one is wanted.",
      CFR3: 'The proxy logs every request it serves or refuses (request_settled, request_rejected) with key, project and status, and WAF keeps sampled requests and metrics; CloudFront access logs would be a third copy of client addresses.',
      CFR4: "The distribution uses CloudFront's default *.cloudfront.net certificate, whose viewer TLS policy CloudFront fixes; a TLSv1.2_2021 minimum needs a custom domain and certificate, which tollgate does not own. The SDKs negotiate TLS 1.2 or later.",
    });
  }
}
