import type { ProviderSettings } from './config';

/** Reads the credential where the config says it lives, at request time. */
export function envCredential(env: NodeJS.ProcessEnv = process.env): (provider: ProviderSettings) => string | undefined {
  return (provider) => env[provider.credential.name] || undefined;
}
