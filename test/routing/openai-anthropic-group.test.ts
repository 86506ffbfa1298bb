import { parseConfig } from '../../lambda/config/config';
import { createRouter } from '../../lambda/core/route';

/**
 * A group of an OpenAI account and Anthropic (whose OpenAI-compatible endpoint serves the openai
 * format) is accepted by the config as sharing the openai format, so a chat request in OpenAI's
 * spelling must have both as candidates, and reach Anthropic at its own path.
 */
describe('openai + anthropic routing group', () => {
  const config = parseConfig({ routes: { pool: { members: [{ provider: 'openai' }, { provider: 'anthropic' }] } } }, 'test');
  const router = createRouter(config);

  it.each(['/proxy/pool/chat/completions'])('%s reaches both members', (url) => {
    let names: string[];
    try {
      names = router.parse('POST', url)?.candidates.map((c) => c.account.name) ?? [];
    } catch (error) {
      names = [`refused: ${(error as Error).message.slice(0, 80)}`];
    }
    expect(names).toEqual(['openai', 'anthropic']);
  });

  it('sends the Anthropic member OpenAI’s spelling at Anthropic’s own path', () => {
    const route = router.parse('POST', '/proxy/pool/chat/completions');
    const anthropic = route?.candidates.find((candidate) => candidate.account.name === 'anthropic');
    const outbound = anthropic?.binding.outbound?.({ method: 'POST', operation: route!.operation, providerPath: '/chat/completions', query: '', body: {}, model: 'claude-sonnet-4-5' }, undefined);
    expect(outbound?.path).toBe('/v1/chat/completions');
  });
});
