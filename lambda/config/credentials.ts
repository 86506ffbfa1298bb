import type { ProviderSettings } from './config';
import { localSecretKey, openCredential, SealedCredentialError, SECRET_KEY_ENV, SECRET_KEY_FILE, type SecretKey } from './sealed-credentials';

/** Resolves a provider's credential at request time, so a rotated secret needs no restart. */
export type CredentialResolver = (provider: ProviderSettings) => Promise<string | undefined>;

/**
 * The local resolver: environment variables, and project credentials sealed in the local store
 * (opened with `TOLLGATE_SECRET_KEY` or the data directory's key file). Secrets Manager sources
 * need the AWS deployment's resolver; here they fail loudly rather than silently sending no credential.
 */
export function envCredentials(env: NodeJS.ProcessEnv = process.env): CredentialResolver {
  let secretKey: SecretKey | undefined;
  return async (provider) => {
    const source = provider.credential;
    if (source === undefined) return undefined;
    switch (source.kind) {
      case 'env':
        return env[source.name] || undefined;
      case 'sealed':
        // Read once found; looked for again while missing, so a key the CLI creates later is picked up.
        secretKey ??= localSecretKey(env, { create: false });
        if (!secretKey) {
          throw new SealedCredentialError(
            `provider ${provider.name} has a sealed credential, and this gateway has no secret key to open it: set ${SECRET_KEY_ENV}, or run it with the data directory (and its ${SECRET_KEY_FILE}) the CLI used`,
          );
        }
        return openCredential(source.sealed, secretKey, sealingContext(provider));
      case 'secret':
        throw new Error(`provider ${provider.name} reads its credential from Secrets Manager, which this runtime is not configured for`);
    }
  };
}

/** What a project account's sealed credential is bound to: it opens for that project and account only. */
export function sealingContext(account: Pick<ProviderSettings, 'name' | 'project'>): string {
  return `${account.project ?? ''}/${account.name}`;
}
