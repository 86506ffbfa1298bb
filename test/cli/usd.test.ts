import { parseUsd, UsdParseError } from '../../lambda/cli/usd';

describe('parseUsd', () => {
  test.each([
    ['50', 50_000_000_000],
    ['50.00', 50_000_000_000],
    ['12.5', 12_500_000_000],
    ['0.1', 100_000_000],
    ['0.000000001', 1],
    ['0', 0],
    ['007.10', 7_100_000_000],
    ['9007199.254740991', Number.MAX_SAFE_INTEGER],
  ])('%s USD is exactly %d nanos', (text, nanos) => {
    expect(parseUsd(text)).toBe(nanos);
  });

  test.each([
    ['1e3', /not a USD amount/],
    ['-1', /not a USD amount/],
    ['+1', /not a USD amount/],
    ['$50', /not a USD amount/],
    ['1,000', /not a USD amount/],
    ['.5', /not a USD amount/],
    ['5.', /not a USD amount/],
    [' 5', /not a USD amount/],
    ['', /not a USD amount/],
    ['Infinity', /not a USD amount/],
    ['0x10', /not a USD amount/],
    ['0.0000000001', /more than 9 decimal places/],
    ['9007199.254740992', /too large/],
    ['100000000000000000000', /too large/],
  ])('%j is refused', (text, reason) => {
    expect(() => parseUsd(text)).toThrow(UsdParseError);
    expect(() => parseUsd(text)).toThrow(reason);
  });
});
