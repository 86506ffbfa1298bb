import Anthropic, { APIError } from '@anthropic-ai/sdk';
import { startBedrockHarness, type BedrockHarness } from '../support/bedrock-harness';

const MESSAGES = [{ role: 'user' as const, content: 'Hi' }];

/**
 * Bedrock refuses in its own shape (`{"message"}`, the exception named in `x-amzn-errortype`); a
 * caller of Anthropic's Messages API on a Bedrock route gets Anthropic's `{"type":"error",…}`
 * with the same status, so the Anthropic SDK raises its typed error.
 */
describe('Bedrock’s errors to the Anthropic SDK (POST /v1/messages on a Bedrock route)', () => {
  let harness: BedrockHarness;
  let client: Anthropic;

  beforeEach(async () => {
    harness = await startBedrockHarness();
    const { key } = await harness.issue();
    client = new Anthropic({ apiKey: key, baseURL: `${harness.gateway.url}/proxy/bedrock`, maxRetries: 0 });
  });
  afterEach(async () => {
    await harness.close();
  });

  it.each([
    [429, 'ThrottlingException', 'Too many requests, please wait before trying again.', Anthropic.RateLimitError, 'rate_limit_error'],
    [400, 'ValidationException', 'messages.0.content: Field required', Anthropic.BadRequestError, 'invalid_request_error'],
    [403, 'AccessDeniedException', 'You don’t have access to the model with the specified model ID.', Anthropic.PermissionDeniedError, 'permission_error'],
    [404, 'ResourceNotFoundException', 'Model not found.', Anthropic.NotFoundError, 'not_found_error'],
    [503, 'ServiceUnavailableException', 'Bedrock is unable to process your request.', Anthropic.InternalServerError, 'overloaded_error'],
    [429, 'ModelNotReadyException', 'The model is not ready to serve inference requests.', Anthropic.RateLimitError, 'overloaded_error'],
    [408, 'ModelTimeoutException', 'The request took too long to process.', Anthropic.APIError, 'timeout_error'],
  ])('%i %s: raised as the SDK’s typed error, Anthropic-shaped, status kept', async (status, exception, message, errorClass, type) => {
    // GIVEN
    harness.upstream.behaviour.error = { status, type: exception, message };

    // WHEN
    const failure = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: MESSAGES }).catch((error: unknown) => error);

    // THEN
    expect(failure).toBeInstanceOf(errorClass);
    expect(failure).toMatchObject({ status, error: { type: 'error', error: { type, message: `${exception}: ${message}` } } });
    expect(harness.upstream.refusals).toEqual([]);
    expect(harness.upstream.requests).toHaveLength(1);
  });

  it('a streamed request refused before it began is raised the same way', async () => {
    harness.upstream.behaviour.error = { status: 429, type: 'ThrottlingException', message: 'Too many tokens, please wait before trying again.' };

    const failure = await client.messages
      .stream({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: MESSAGES })
      .finalMessage()
      .catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(Anthropic.RateLimitError);
    expect((failure as APIError).error).toEqual({
      type: 'error',
      error: { type: 'rate_limit_error', message: 'ThrottlingException: Too many tokens, please wait before trying again.' },
    });
    expect(harness.upstream.requests[0]?.url).toMatch(/\/invoke-with-response-stream$/);
  });

  it('keeps Bedrock’s own shape on its own API (`/model/{id}/invoke`)', async () => {
    harness.upstream.behaviour.error = { status: 429, type: 'ThrottlingException', message: 'Too many requests.' };
    const { key } = await harness.issue();

    const response = await fetch(`${harness.gateway.url}/proxy/bedrock/model/anthropic.claude-3-5-sonnet-20240620-v1:0/invoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 64, messages: MESSAGES }),
    });

    expect(response.status).toBe(429);
    expect(response.headers.get('x-amzn-errortype')).toMatch(/^ThrottlingException:/);
    expect(await response.json()).toEqual({ message: 'Too many requests.' });
  });
});
