import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { ANTHROPIC_UPSTREAM_KEY, startFakeAnthropic, type FakeAnthropic } from '../support/fake-anthropic';
import { startHarness, type Harness } from '../support/harness';
import { countingLogger } from './support';

describe('a reached cap, as the official SDKs see it', () => {
  let anthropicUpstream: FakeAnthropic;
  let harness: Harness;
  let logger: ReturnType<typeof countingLogger>;
  let key: string;

  beforeEach(async () => {
    anthropicUpstream = await startFakeAnthropic();
    logger = countingLogger();
    harness = await startHarness({
      config: (openaiBaseUrl) => ({
        providers: { openai: { baseUrl: openaiBaseUrl }, anthropic: { baseUrl: anthropicUpstream.baseUrl } },
        limits: { keyCacheTtlMs: 0 },
      }),
      env: { ANTHROPIC_API_KEY: ANTHROPIC_UPSTREAM_KEY },
      logger,
    });
    key = (await harness.issue()).key;
    // GIVEN a project whose monthly budget is already smaller than any request
    await harness.store.updateProject('acme', { limits: { monthly: 1 } });
  });
  afterEach(async () => {
    await harness.close();
    await anthropicUpstream.close();
  });

  const rejections = () => logger.events.filter((event) => event === 'request_rejected').length;

  it('reaches the OpenAI SDK as a non-retried error naming the cap, with nothing sent upstream', async () => {
    // WHEN a client with default settings (two retries) calls
    const client = new OpenAI({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/openai` });
    const error = (await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;

    // THEN it gets the message once: no retry storm, no upstream call
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error.status).toBe(402);
    expect(error.message).toMatch(/^402 project "acme" monthly limit \$0\.000000001 reached .*; resets 20\d\d-\d\d-01T00:00:00Z$/);
    expect(rejections()).toBe(1);
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('reaches the Anthropic SDK the same way, in Anthropic’s error shape', async () => {
    const client = new Anthropic({ authToken: key, baseURL: `${harness.gateway.url}/proxy/anthropic` });

    const error = (await client.messages
      .create({ model: 'claude-sonnet-4-20250514', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;

    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect(error.status).toBe(402);
    // The SDK shows an unfamiliar status as its raw body, which carries the message.
    const body = error.error as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('billing_error');
    expect(body.error.message).toMatch(/^project "acme" monthly limit \$0\.000000001 reached .*; resets 20\d\d-\d\d-01T00:00:00Z$/);
    expect(error.message).toContain(JSON.stringify(body.error.message));
    expect(rejections()).toBe(1);
    expect(anthropicUpstream.requests).toHaveLength(0);
  });
});
