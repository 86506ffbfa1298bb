import type { ProviderSettings } from '../config/config';
import type { ProviderId } from '../providers/types';

/** How a log line names the provider account it is about. */
export type AccountLogFields = {
  /** The account's name, as `x-tollgate-provider` reports it. */
  readonly provider: string;
  /** On a project's own account (BYOK) only: its project, since two projects may use one name. */
  readonly byok_project?: string;
  /**
   * On a project's own account (BYOK) only: its kind. Metrics name such an account `byok:<kind>`
   * (see emf.ts): projects add accounts as they like, and a metric per account name would grow
   * the operator's CloudWatch bill with every one of them.
   */
  readonly byok_kind?: ProviderId;
};

/**
 * @example
 * logger.error('upstream_attempt_failed', { route, ...accountLogFields(candidate.account), status });
 */
export function accountLogFields(account: Pick<ProviderSettings, 'name' | 'kind' | 'project'>): AccountLogFields {
  return account.project === undefined ? { provider: account.name } : { provider: account.name, byok_project: account.project, byok_kind: account.kind };
}
