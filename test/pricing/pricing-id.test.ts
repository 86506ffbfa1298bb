import { calcPrice } from '@pydantic/genai-prices';
import { Pricer } from '../../lambda/pricing/pricer';
import { accountPricingId } from '../../lambda/pricing/pricing-id';

const CHAT = { usage: { prompt_tokens: 1000, completion_tokens: 100, prompt_tokens_details: { cached_tokens: 600 } }, model: 'x' };

describe('pricing ids', () => {
  it('prices an account’s own id from the config only, never from the provider genai-prices would match its name to', () => {
    // genai-prices matches provider ids loosely: "account:my-openai" finds OpenAI there.
    const pricer = new Pricer([{ pricingId: accountPricingId('my-openai'), model: 'llama', prices: { input_mtok: 1, output_mtok: 2 } }]);

    expect(pricer.knows(accountPricingId('my-openai'), 'gpt-4o')).toBe(false);
    expect(pricer.knows(accountPricingId('my-openai'), 'llama')).toBe(true);
    expect(pricer.price(accountPricingId('my-openai'), 'llama', { flavor: 'chat', doc: CHAT, shapeOf: 'openai' })?.nanos).toBe(1_200_000); // 1000 × $1 + 100 × $2 per million, cache reads without a rate of their own at input's
  });

  it('reads OpenAI-shaped usage with OpenAI’s extractor where the pricing provider has none of that flavour', () => {
    const pricer = new Pricer();
    const model = 'meta-llama/Llama-3.3-70B-Instruct-Turbo';

    const priced = pricer.price('together', model, { flavor: 'chat', doc: CHAT, shapeOf: 'openai' });

    expect(priced?.usage).toEqual({ input_tokens: 1000, cache_read_tokens: 600, output_tokens: 100 });
    expect(priced?.nanos).toBe(Math.round((calcPrice({ input_tokens: 1000, cache_read_tokens: 600, output_tokens: 100 }, model, { providerId: 'together' })?.total_price ?? NaN) * 1e9));
    // Without a shape to fall back on, Together's data (no extractors) reads nothing.
    expect(pricer.price('together', model, { flavor: 'chat', doc: CHAT })).toBeUndefined();
  });

  it('keeps a provider’s own extractor where it has one (Anthropic reads its compatibility layer’s usage its own way)', () => {
    const pricer = new Pricer();

    const priced = pricer.price('anthropic', 'claude-sonnet-4-20250514', { flavor: 'chat', doc: { usage: { prompt_tokens: 10, completion_tokens: 5, cached_tokens: 4 } }, shapeOf: 'openai' });

    expect(priced?.usage).toEqual({ input_tokens: 10, cache_read_tokens: 4, output_tokens: 5 });
  });
});
