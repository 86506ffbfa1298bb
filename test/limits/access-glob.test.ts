import fc from 'fast-check';
import { globMatches, listAllows } from '../../lambda/limits/access';

/** The reference: the glob as a regular expression, `u` so that `.` is one code point. Fine for short strings. */
function reference(pattern: string, name: string): boolean {
  const source = [...pattern].map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[\\^$.+()[\]{}|/]/g, '\\$&'))).join('');
  return new RegExp(`^${source}$`, 'su').test(name);
}

describe('glob patterns of the allow-lists', () => {
  it.each([
    ['gpt-5*', 'gpt-5', true],
    ['gpt-5*', 'gpt-5-mini', true],
    ['gpt-5*', 'gpt-4o', false],
    ['gpt-5*', 'GPT-5', false], // case counts: a provider's ids are case-sensitive
    ['gpt-5*', 'xgpt-5', false], // anchored at both ends
    ['claude-?-*', 'claude-3-haiku', true],
    ['claude-?-*', 'claude-35-haiku', false],
    ['*', '', true],
    ['*', 'anything/at:all.v1', true],
    ['', '', true],
    ['', 'x', false],
    ['openai', 'openai', true],
    ['openai', 'openai-eu', false],
    ['openai*', 'openai-eu', true],
    ['*anthropic.claude-*', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', true],
    ['*anthropic.claude-*', 'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXbY', false],
    ['a*a*a*b', 'aaaaaaaaaaaaaaaaaaaaaaaab', true],
    ['gpt-4.1', 'gpt-4x1', false], // `.` is itself, not "any character"
    ['model-?', 'model-😀', true], // `?` is one character, not one UTF-16 unit
    ['model-??', 'model-😀', false],
  ])('%p against %p: %p', (pattern, name, expected) => {
    expect(globMatches(pattern, name)).toBe(expected);
    expect(reference(pattern, name)).toBe(expected);
  });

  it('agrees with the regular-expression reading on any pattern and name', () => {
    // Few letters, so that patterns and names often meet; stars and question marks in both.
    const text = (max: number) => fc.string({ unit: fc.constantFrom('a', 'b', '-', '.', '*', '?', '😀'), maxLength: max });
    fc.assert(
      fc.property(text(8), text(12), (pattern, name) => {
        expect(globMatches(pattern, name)).toBe(reference(pattern, name));
      }),
      { numRuns: 5_000 },
    );
  });

  it('answers a long name against many stars without backtracking blow-up', () => {
    // A backtracking matcher takes name^stars steps here; this one at most pattern × name.
    const name = 'a'.repeat(200_000);
    expect(globMatches('*a*a*a*a*a*a*b', name)).toBe(false);
    expect(globMatches('*a*a*a*a*a*a*', name)).toBe(true);
  });

  it('allows everything with no list or an empty one, else what one pattern matches', () => {
    expect(listAllows(undefined, 'gpt-4o')).toBe(true);
    expect(listAllows([], 'gpt-4o')).toBe(true);
    expect(listAllows(['gpt-5*', 'claude-*'], 'claude-sonnet-4-5')).toBe(true);
    expect(listAllows(['gpt-5*', 'claude-*'], 'gpt-4o')).toBe(false);
  });
});
