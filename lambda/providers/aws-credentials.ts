import * as z from '../config/zod';
import { GatewayError } from '../core/errors';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/**
 * A configured Bedrock credential. A JSON object is an AWS access key (signed with SigV4); any
 * other string is a Bedrock API key (sent as a bearer token, unsigned). API keys never start with
 * `{`, so the first character decides.
 *
 * @example
 * {"accessKeyId":"AKIA…","secretAccessKey":"…","sessionToken":"…"}   // SigV4, sessionToken optional
 * ABSKQmVkcm9ja0FQSUtleS1…                                            // Bedrock API key
 */
export type BedrockCredential =
  | { readonly kind: 'access-key'; readonly credentials: AwsCredentials }
  | { readonly kind: 'api-key'; readonly key: string };

const accessKeySchema = z.object({
  accessKeyId: z.string().check(z.minLength(1)),
  secretAccessKey: z.string().check(z.minLength(1)),
  sessionToken: z.optional(z.string().check(z.minLength(1))),
});

export function parseBedrockCredential(value: string): BedrockCredential {
  const trimmed = value.trim();
  if (!trimmed.startsWith('{')) return { kind: 'api-key', key: trimmed };
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    parsed = undefined;
  }
  const result = accessKeySchema.safeParse(parsed);
  if (!result.success) {
    // Never echo the value: it is a secret.
    throw new GatewayError(
      'provider_not_configured',
      'The Bedrock credential configured on the gateway is JSON but not {"accessKeyId", "secretAccessKey", "sessionToken"?}.',
    );
  }
  const { accessKeyId, secretAccessKey, sessionToken } = result.data;
  return { kind: 'access-key', credentials: { accessKeyId, secretAccessKey, ...(sessionToken !== undefined && { sessionToken }) } };
}

type CredentialChain = () => Promise<AwsCredentials>;

let chain: Promise<CredentialChain> | undefined;

/**
 * The AWS default credential chain, for when no credential is configured: in AWS, the function's
 * role. Static keys are read from the gateway's own environment first, so a gateway started with
 * an explicit env (tests, embedders) does not pick up the process's. The rest of the chain (SSO,
 * profiles, container and instance roles) is loaded on first use only — a local gateway that
 * never calls Bedrock never touches it — and is shared, because it caches and refreshes what it finds.
 */
export async function ambientCredentials(env: Readonly<Record<string, string | undefined>>): Promise<AwsCredentials> {
  const accessKeyId = env['AWS_ACCESS_KEY_ID'];
  const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
  if (accessKeyId && secretAccessKey) {
    const sessionToken = env['AWS_SESSION_TOKEN'];
    return { accessKeyId, secretAccessKey, ...(sessionToken && { sessionToken }) };
  }
  chain ??= import('@aws-sdk/credential-provider-node').then(({ defaultProvider }) => defaultProvider());
  try {
    return await (await chain)();
  } catch (error) {
    throw new GatewayError(
      'provider_not_configured',
      'Bedrock: the gateway found no AWS credentials. Give it AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, ' +
        'AWS_PROFILE, or a role), or configure providers.bedrock.credential.',
      { cause: error },
    );
  }
}
