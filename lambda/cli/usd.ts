const NANO_DIGITS = 9;
const USD_PATTERN = /^(\d+)(?:\.(\d+))?$/;

/** Why an amount was refused, in words an operator can act on. */
export class UsdParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsdParseError';
  }
}

/**
 * Parses a decimal USD amount into integer nano-dollars, exactly: the digits are read as text,
 * never through a float, so `0.000000001` is 1 nano and `0.1` is 100,000,000, not 99,999,999.
 * Only plain decimals are accepted — no sign, exponent, currency symbol or digit grouping — so a
 * typo cannot become a different cap.
 *
 * @example
 * parseUsd('50.00');        // 50_000_000_000
 * parseUsd('0.000000001');  // 1
 * parseUsd('1e3');          // throws UsdParseError
 */
export function parseUsd(text: string): number {
  const match = USD_PATTERN.exec(text);
  if (!match) throw new UsdParseError(`"${text}" is not a USD amount: write digits with an optional decimal point, such as 50 or 12.50`);
  const whole = match[1] ?? '0';
  const fraction = match[2] ?? '';
  if (fraction.length > NANO_DIGITS) {
    throw new UsdParseError(`"${text}" has more than ${NANO_DIGITS} decimal places; amounts are kept to the nano-dollar`);
  }
  // BigInt so that an absurd amount is caught, not silently rounded by a float multiplication.
  const nanos = BigInt(whole) * 10n ** BigInt(NANO_DIGITS) + BigInt(fraction.padEnd(NANO_DIGITS, '0'));
  if (nanos > BigInt(Number.MAX_SAFE_INTEGER)) throw new UsdParseError(`"${text}" is too large; the most a cap can be is $9007199.254740991`);
  return Number(nanos);
}
