import type { ProviderSettings } from './config';

/** Resolves a provider's credential at request time, so a rotated secret needs no restart. */
export type CredentialResolver = (provider: ProviderSettings) => Promise<string | undefined>;

/**
 * The local resolver: environment variables only. Secrets Manager sources need the AWS
 * deployment's resolver; here they fail loudly rather than silently sending no credential.
 */
export function envCredentials(env: NodeJS.ProcessEnv = process.env): CredentialResolver {
  return async (provider) => {
    const source = provider.credential;
    if (source === undefined) return undefined;
    if (source.kind === 'env') return env[source.name] || undefined;
    throw new Error(`provider ${provider.name} reads its credential from Secrets Manager, which this runtime is not configured for`);
  };
}
