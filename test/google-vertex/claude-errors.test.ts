import Anthropic, { APIError } from '@anthropic-ai/sdk';
import { AnthropicVertex } from '@anthropic-ai/vertex-sdk';
import { OAuth2Client } from 'google-auth-library';
import { LOCATION, PROJECT } from '../support/fake-google';
import { startVertexHarness, type VertexHarness } from '../support/vertex-harness';

const MODEL = 'claude-sonnet-4@20250514';
const MESSAGES = [{ role: 'user' as const, content: 'Hello, Claude' }];
const QUOTA = 'Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model with base model: anthropic-claude-sonnet-4.';

/**
 * Vertex refuses some Claude requests itself, in Google's shape (`{"error":{"code","message","status"}}`,
 * as an array's one element for a streaming action); Claude's own errors come through Vertex in
 * Anthropic's. A caller of the Messages API gets Anthropic's shape either way, the status kept.
 */
describe('Vertex’s own errors on Claude requests, to the Anthropic SDKs', () => {
  let vertex: VertexHarness;

  beforeEach(async () => {
    vertex = await startVertexHarness();
  });
  afterEach(async () => {
    await vertex.close();
  });

  const anthropic = () => new Anthropic({ apiKey: vertex.key, baseURL: `${vertex.harness.gateway.url}/proxy/google-vertex`, maxRetries: 0 });

  it.each([
    ['a document', false],
    ['a gzipped document', true],
  ])('429 RESOURCE_EXHAUSTED as %s: Anthropic.RateLimitError, rate_limit_error with Google’s message', async (_how, gzip) => {
    // GIVEN
    vertex.google.claudeRefusal = { status: 429, body: { error: { code: 429, message: QUOTA, status: 'RESOURCE_EXHAUSTED' } }, gzip };

    // WHEN
    const failure = await anthropic()
      .messages.create({ model: MODEL, max_tokens: 64, messages: MESSAGES })
      .catch((error: unknown) => error);

    // THEN
    expect(failure).toBeInstanceOf(Anthropic.RateLimitError);
    expect((failure as APIError).error).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: QUOTA } });
    expect(vertex.google.requests).toHaveLength(1);
  });

  it('a streaming action’s array-wrapped refusal, through AnthropicVertex on Vertex’s own path', async () => {
    vertex.google.claudeRefusal = {
      status: 403,
      body: [{ error: { code: 403, message: 'Permission denied on resource project.', status: 'PERMISSION_DENIED' } }],
    };
    const client = new AnthropicVertex({
      baseURL: `${vertex.harness.gateway.url}/proxy/google-vertex/v1`,
      projectId: PROJECT,
      region: LOCATION,
      authClient: new OAuth2Client({ credentials: { access_token: vertex.key } }),
      maxRetries: 0,
    });

    const failure = await client.messages
      .stream({ model: MODEL, max_tokens: 64, messages: MESSAGES })
      .finalMessage()
      .catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((failure as APIError).error).toEqual({
      type: 'error',
      error: { type: 'permission_error', message: 'Permission denied on resource project.' },
    });
    expect(vertex.google.requests[0]?.url).toMatch(/:streamRawPredict$/);
  });

  it('passes Claude’s own Anthropic-shaped error through unchanged', async () => {
    const overloaded = { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } };
    vertex.google.claudeRefusal = { status: 529, body: overloaded };

    const failure = await anthropic()
      .messages.create({ model: MODEL, max_tokens: 64, messages: MESSAGES })
      .catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(Anthropic.InternalServerError);
    expect((failure as APIError).error).toEqual(overloaded);
  });
});
