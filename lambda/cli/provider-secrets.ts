import { randomBytes } from 'node:crypto';
import { CliFailure } from './io';
import { stackOutputs } from './stack-target';

/** Where a deployed stack's gateway finds a project's own credential: a secret under the stack's prefix. */
export interface StackSecrets {
  /** Creates the secret, encrypted with the stack's key; returns its name. */
  put(project: string, account: string, credential: string): Promise<string>;
  /** Deletes it at once (no recovery window): the operator removed the account, and its credential with it. */
  remove(secretId: string): Promise<void>;
  close(): void;
}

/**
 * The proxy may read secrets named `tollgate/<stack name>/…` (lib/proxy.ts), decrypted with the
 * stack's own KMS key (its `SecretsKeyArn` output). Project credentials go under `byok/` there,
 * with a random suffix: a credential replaced under the same account name is a new secret, so no
 * proxy keeps serving the old one from its secrets cache.
 */
export async function stackSecrets(stack: string, env: NodeJS.ProcessEnv): Promise<StackSecrets> {
  const { CreateSecretCommand, DeleteSecretCommand, SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
  const region = env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'];
  const endpoint = env['AWS_ENDPOINT_URL_SECRETS_MANAGER'];
  const accessKeyId = env['AWS_ACCESS_KEY_ID'];
  const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
  const client = new SecretsManagerClient({
    ...(region && { region }),
    ...(endpoint && { endpoint }),
    ...(accessKeyId && secretAccessKey && { credentials: { accessKeyId, secretAccessKey, ...(env['AWS_SESSION_TOKEN'] && { sessionToken: env['AWS_SESSION_TOKEN'] }) } }),
  });
  const prefix = `tollgate/${stack}/byok/`;
  return {
    async put(project, account, credential) {
      const keyArn = (await stackOutputs(stack, env)).get('SecretsKeyArn');
      if (!keyArn) throw new CliFailure(`stack ${stack} has no SecretsKeyArn output: is it a tollgate stack?`);
      const name = `${prefix}${secretNamePart(project)}/${account}-${randomBytes(4).toString('hex')}`;
      try {
        await client.send(
          new CreateSecretCommand({
            Name: name,
            SecretString: credential,
            KmsKeyId: keyArn,
            Description: `tollgate ${stack}: provider account ${account} of project ${JSON.stringify(project)} (bring your own)`,
          }),
        );
      } catch (error) {
        // The service's message names the secret and the problem, never the value sent.
        throw new CliFailure(`could not create secret ${name}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
      }
      return name;
    },
    async remove(secretId) {
      // Only what `put` made: a record naming any other secret is not this command's to delete.
      if (!secretId.startsWith(prefix)) throw new CliFailure(`secret ${secretId} is not under ${prefix}; delete it yourself if it is no longer used`);
      try {
        await client.send(new DeleteSecretCommand({ SecretId: secretId, ForceDeleteWithoutRecovery: true }));
      } catch (error) {
        throw new CliFailure(`the account is removed, but its secret ${secretId} could not be deleted: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
      }
    },
    close: () => client.destroy(),
  };
}

/** Secret names allow letters, digits and `/_+=.@-`; a project name may hold anything. */
function secretNamePart(project: string): string {
  return project.replace(/[^A-Za-z0-9_+=.@-]/g, '_').slice(0, 100) || '_';
}
