import { CircuitBreaker } from '../../lambda/routing/circuit-breaker';
import { recordingLogger } from '../support/recording-logger';

describe('CircuitBreaker', () => {
  let now: number;
  const clock = () => new Date(now);

  beforeEach(() => {
    now = Date.parse('2026-11-27T10:00:00Z');
  });

  function breaker(failures = 3, cooldownMs = 30_000) {
    const logger = recordingLogger();
    return { logger, breaker: new CircuitBreaker({ failures, cooldownMs, clock, logger }) };
  }

  it('opens after the configured number of consecutive failures, and logs it once', () => {
    // GIVEN
    const { breaker: circuits, logger } = breaker(3);

    // WHEN two failures, an answer, then three failures
    circuits.failed('a');
    circuits.failed('a');
    circuits.succeeded('a');
    circuits.failed('a');
    circuits.failed('a');
    expect(circuits.available('a')).toBe(true);
    circuits.failed('a');

    // THEN only the unbroken run of three opened it
    expect(circuits.available('a')).toBe(false);
    expect(circuits.available('b')).toBe(true);
    expect(logger.lines).toEqual([{ level: 'error', event: 'circuit_opened', fields: { provider: 'a', failures: 3, cooldown_ms: 30_000 } }]);
  });

  it('lets one trial through after the cool-down, and closes on its answer', () => {
    const { breaker: circuits, logger } = breaker(1, 30_000);
    circuits.failed('a');

    // WHEN the cool-down has not quite passed, then has
    now += 29_999;
    expect(circuits.available('a')).toBe(false);
    now += 1;
    expect(circuits.available('a')).toBe(true);

    // THEN one request takes the trial, and the others pass the account by until it answers
    circuits.starting('a');
    expect(circuits.available('a')).toBe(false);
    circuits.succeeded('a');
    expect(circuits.available('a')).toBe(true);
    expect(logger.lines.map((line) => line.event)).toEqual(['circuit_opened', 'circuit_closed']);
  });

  it('opens again for a whole cool-down when the trial fails', () => {
    const { breaker: circuits, logger } = breaker(1, 30_000);
    circuits.failed('a');
    now += 30_000;
    circuits.starting('a');

    // WHEN the trial fails
    circuits.failed('a');

    // THEN the account is out for another full cool-down
    now += 29_999;
    expect(circuits.available('a')).toBe(false);
    now += 1;
    expect(circuits.available('a')).toBe(true);
    expect(logger.lines.map((line) => [line.event, line.fields['trial']])).toEqual([
      ['circuit_opened', undefined],
      ['circuit_opened', true],
    ]);
  });

  it('restarts the cool-down quietly when an open account, tried because every member was open, fails again', () => {
    const { breaker: circuits, logger } = breaker(1, 30_000);
    circuits.failed('a');
    now += 10_000;

    circuits.starting('a');
    circuits.failed('a');

    now += 29_999;
    expect(circuits.available('a')).toBe(false);
    expect(logger.lines).toHaveLength(1);
  });
});
