import type { LogFields, Logger } from '../core/log';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open an account's circuit. */
  readonly failures: number;
  /** How long an open circuit keeps its account out of rotation before one trial request. */
  readonly cooldownMs: number;
  readonly clock: () => Date;
  readonly logger: Logger;
}

type Circuit =
  | { readonly state: 'closed'; readonly failures: number }
  | { readonly state: 'open'; readonly until: number }
  /** The cool-down is over and one request is trying the account: others still pass it by. */
  | { readonly state: 'half-open' };

/**
 * One circuit per provider account, in this process. `failures` consecutive failed attempts (no
 * answer, 429, 5xx) open it: routing groups then pass the account by for `cooldownMs` — unless
 * every member of the route is open, when they are all tried anyway. After the cool-down one
 * request is let through as a trial: an answer closes the circuit, a failure opens it again.
 *
 * ```
 * closed ──N failures──▶ open ──cool-down over, one request──▶ half-open ──answer──▶ closed
 *                          ▲                                        │
 *                          └────────────────failure─────────────────┘
 * ```
 * State changes are logged (`circuit_opened`, `circuit_closed`); `circuit_opened` is also a
 * CloudWatch metric (CircuitsOpened, by provider).
 *
 * @example
 * const breaker = new CircuitBreaker({ failures: 5, cooldownMs: 30_000, clock, logger });
 * if (breaker.available('openai-eu')) { breaker.starting('openai-eu'); … breaker.failed('openai-eu'); }
 */
export class CircuitBreaker {
  private readonly circuits = new Map<string, Circuit>();

  constructor(private readonly options: CircuitBreakerOptions) {}

  /** Whether a request should try the account now: its circuit is closed, or open with its cool-down over and no trial under way. */
  available(account: string): boolean {
    const circuit = this.circuits.get(account);
    if (circuit === undefined || circuit.state === 'closed') return true;
    if (circuit.state === 'half-open') return false;
    return this.now() >= circuit.until;
  }

  /** An attempt is about to go to the account: past an open circuit's cool-down, it is the one trial. */
  starting(account: string): void {
    const circuit = this.circuits.get(account);
    if (circuit?.state === 'open' && this.now() >= circuit.until) this.circuits.set(account, { state: 'half-open' });
  }

  /** The account answered (anything but a 429 or a 5xx). `named` is how its log lines name it. */
  succeeded(account: string, named: LogFields = { provider: account }): void {
    const circuit = this.circuits.get(account);
    if (circuit === undefined) return;
    this.circuits.delete(account);
    if (circuit.state !== 'closed') this.options.logger.info('circuit_closed', { ...named });
  }

  /** The account did not answer, or answered 429 or 5xx. `named` is how its log lines name it. */
  failed(account: string, named: LogFields = { provider: account }): void {
    const circuit = this.circuits.get(account) ?? { state: 'closed', failures: 0 };
    if (circuit.state === 'closed' && circuit.failures + 1 < this.options.failures) {
      this.circuits.set(account, { state: 'closed', failures: circuit.failures + 1 });
      return;
    }
    this.circuits.set(account, { state: 'open', until: this.now() + this.options.cooldownMs });
    // Already open (every member was open, so it was tried anyway): its cool-down starts again, quietly.
    if (circuit.state === 'open') return;
    this.options.logger.error('circuit_opened', {
      ...named,
      ...(circuit.state === 'closed' ? { failures: circuit.failures + 1 } : { trial: true }),
      cooldown_ms: this.options.cooldownMs,
    });
  }

  private now(): number {
    return this.options.clock().getTime();
  }
}
