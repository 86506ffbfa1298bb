import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../lambda/config/config';
import { bedrockModelId, claudeModelTable, defaultProfile } from '../../lambda/providers/bedrock-claude-models';

describe('Claude names to Bedrock ids', () => {
  it.each([
    ['us-east-1', 'us'],
    ['us-west-2', 'us'],
    ['us-gov-west-1', 'us-gov'],
    ['eu-central-1', 'eu'],
    ['ap-northeast-1', 'apac'],
    ['sa-east-1', 'global'],
    ['ca-central-1', 'global'],
  ])('in %s calls the %s profile by default', (region, profile) => {
    expect(defaultProfile(region)).toBe(profile);
    expect(bedrockModelId('claude-haiku-4-5', { region })).toBe(`${profile}.anthropic.claude-haiku-4-5-20251001-v1:0`);
  });

  it('takes the profile the account names, or none', () => {
    expect(bedrockModelId('claude-sonnet-4-5', { region: 'eu-west-1', inferenceProfile: 'jp' })).toBe('jp.anthropic.claude-sonnet-4-5-20250929-v1:0');
    expect(bedrockModelId('claude-3-5-sonnet-latest', { inferenceProfile: 'none' })).toBe('anthropic.claude-3-5-sonnet-20241022-v2:0');
  });

  it('lets the account’s own names win over the table, exactly as written', () => {
    const options = { region: 'us-east-1', models: { 'claude-sonnet-4-5': 'global.anthropic.claude-sonnet-4-5-20250929-v1:0' } };

    expect(bedrockModelId('claude-sonnet-4-5', options)).toBe('global.anthropic.claude-sonnet-4-5-20250929-v1:0');
    expect(bedrockModelId('claude-sonnet-4-5-20250929', options)).toBe('us.anthropic.claude-sonnet-4-5-20250929-v1:0');
  });

  it.each([
    'anthropic.claude-3-haiku-20240307-v1:0',
    'eu.anthropic.claude-sonnet-4-5-20250929-v1:0',
    'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3',
  ])('passes %s through as it is', (id) => {
    expect(bedrockModelId(id, { region: 'us-east-1', models: { [id]: 'eu.something.else' } })).toBe(id);
  });

  it('refuses a name it cannot map, saying how to map it', () => {
    expect(() => bedrockModelId('claude-sonnet-9', {})).toThrow(expect.objectContaining({ status: 400, message: expect.stringContaining('options.models') }));
    // Names that are properties of every object are not models either.
    expect(() => bedrockModelId('constructor', {})).toThrow(expect.objectContaining({ status: 400 }));
  });

  it('is the table docs/claude-on-bedrock.md shows', () => {
    const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'claude-on-bedrock.md'), 'utf8');
    const documented: Record<string, string> = {};
    for (const [, names = '', id = ''] of doc.matchAll(/^\| (`claude-[^|]+) \| `([^`]+)` \|$/gm)) {
      for (const [, name = ''] of names.matchAll(/`([^`]+)`/g)) documented[name] = id;
    }

    expect(documented).toEqual(claudeModelTable());
  });
});

describe('the Bedrock account’s options for Claude names', () => {
  function options(given: unknown): unknown {
    return parseConfig({ providers: { bedrock: { options: given } } }, 'test').providers.bedrock.options;
  }

  it('accepts a profile and a map of names to Bedrock ids', () => {
    const given = { region: 'eu-west-1', inferenceProfile: 'global', models: { 'house-claude': 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0' } };

    expect(options(given)).toEqual(given);
  });

  it.each([
    [{ inferenceProfile: 'mars' }, 'providers.bedrock.options.inferenceProfile'],
    [{ models: { 'house-claude': 'claude-sonnet-4-5' } }, 'providers.bedrock.options.models.house-claude: must be a Bedrock model id'],
  ])('refuses %j, naming the field', (given, message) => {
    expect(() => options(given)).toThrow(message);
  });
});
