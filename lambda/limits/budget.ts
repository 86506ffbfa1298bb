import { GatewayError } from '../core/errors';
import type { RequestView, WireFormat } from '../formats/types';
import { formatUsd, MAX_REQUEST_NANOS } from '../pricing/money';
import type { Pricer } from '../pricing/pricer';
import { applyTier, STANDARD } from '../pricing/tiers';

/** The most one request may reserve: {@link MAX_REQUEST_NANOS}, $10,000. */
export const MAX_ESTIMATE_NANOS = MAX_REQUEST_NANOS;

export interface RequestBudget {
  /** The upper bound to reserve, in nano-dollars; undefined when the model has no known price. */
  readonly estimateNanos: number | undefined;
  /**
   * The most output tokens the request can be billed for, `outputs × its own cap`; undefined when
   * it sets no cap (the provider's default, which the gateway does not know, applies) or when the
   * provider is not known to stop at it.
   */
  readonly outputBound: number | undefined;
}

export interface BudgetInput {
  readonly format: WireFormat;
  readonly operation: string;
  readonly view: RequestView;
  readonly pricer: Pricer;
  readonly pricingId: string;
  readonly model: string;
  /** No tokenizer yields more tokens than the text has UTF-8 bytes: the body's size bounds the input. */
  readonly inputBytes: number;
  /** Output tokens assumed per output for a request that sets no cap of its own. */
  readonly defaultMaxOutputTokens: number;
  /** The service tier's price against the standard rates, in basis points. @default 10 000 (×1) */
  readonly tierBasisPoints?: number;
}

/**
 * What a request may cost before it is forwarded: every output it asks for (`n`, `candidateCount`)
 * at its own output cap, or at the configured default where it sets none. Refuses a request whose
 * bound cannot be reserved.
 */
export function budgetRequest(input: BudgetInput): RequestBudget {
  const { format, operation, view } = input;
  const perOutput = format.maxOutputTokens?.(operation, view);
  const outputs = format.outputCount?.(operation, view) ?? 1;
  const outputTokens = outputs * (perOutput ?? input.defaultMaxOutputTokens);
  const standard = input.pricer.estimate(input.pricingId, input.model, input.inputBytes, outputTokens);
  // A premium tier is reserved at its price, so a cap refuses before the request goes out.
  const estimateNanos = standard === undefined ? undefined : applyTier(standard, input.tierBasisPoints ?? STANDARD);
  // `!(x <= max)` also catches NaN and Infinity from a price computed on absurd counts.
  if (estimateNanos !== undefined && !(estimateNanos <= MAX_ESTIMATE_NANOS)) {
    throw new GatewayError(
      'invalid_request',
      `This request may cost up to more than $${formatUsd(MAX_ESTIMATE_NANOS)}, the most one request may reserve: lower its output token cap or its number of outputs.`,
    );
  }
  const enforced = perOutput !== undefined && (format.outputCapEnforced?.(operation) ?? true);
  return { estimateNanos, outputBound: enforced ? outputs * perOutput : undefined };
}
