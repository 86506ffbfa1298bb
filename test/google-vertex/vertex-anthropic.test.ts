import { GatewayError } from '../../lambda/core/errors';
import type { Operation } from '../../lambda/formats/types';
import { vertexAnthropic } from '../../lambda/providers/vertex-anthropic';
import type { OutboundRequest } from '../../lambda/providers/types';

const OPTIONS = { project: 'acme-ai', location: 'europe-west4' };
const MESSAGES: Operation = { kind: 'metered', name: 'messages' };
const CLAUDE = '/v1/projects/acme-ai/locations/europe-west4/publishers/anthropic/models';

function request(overrides: Partial<OutboundRequest>): OutboundRequest {
  return { providerPath: '/v1/messages', query: '', method: 'POST', operation: MESSAGES, body: {}, model: '', ...overrides };
}

/** The binding alone: what a route that rewrites the model (a failover from Anthropic, say) relies on. */
describe('the google-vertex kind’s Claude binding', () => {
  it('puts the attempt’s model in the path, not the body’s, and leaves the body without one', () => {
    // GIVEN a canonical Anthropic request whose model a route member rewrote to Vertex's name
    const body = { model: 'claude-sonnet-4-5-20250929', max_tokens: 1024, messages: [{ role: 'user', content: 'Hi' }], stream: true };

    // WHEN
    const outbound = vertexAnthropic.outbound?.(request({ body, model: 'claude-sonnet-4-5@20250929' }), OPTIONS);

    // THEN
    expect(outbound).toEqual({
      path: `${CLAUDE}/claude-sonnet-4-5@20250929:streamRawPredict`,
      body: { anthropic_version: 'vertex-2023-10-16', max_tokens: 1024, messages: [{ role: 'user', content: 'Hi' }], stream: true },
      query: '',
    });
    // The request's own body is left as it was, for any other attempt.
    expect(body.model).toBe('claude-sonnet-4-5-20250929');
  });

  it.each([
    ['no stream field', {}, 'rawPredict'],
    ['stream: false', { stream: false }, 'rawPredict'],
    ['stream: "true", which is not true', { stream: 'true' }, 'rawPredict'],
    ['stream: true', { stream: true }, 'streamRawPredict'],
  ])('chooses the method from %s', (_what, fields, action) => {
    const outbound = vertexAnthropic.outbound?.(request({ body: { model: 'm', ...fields }, model: 'claude-opus-4-1@20250805' }), OPTIONS);

    expect(outbound?.path).toBe(`${CLAUDE}/claude-opus-4-1@20250805:${action}`);
  });

  it('rebuilds a native path in the gateway’s project and location, body and query untouched', () => {
    const outbound = vertexAnthropic.outbound?.(
      request({ providerPath: '/v1beta1/projects/theirs/locations/us-east5/publishers/anthropic/models/claude-3-5-haiku@20241022:rawPredict', model: 'claude-3-5-haiku@20241022' }),
      OPTIONS,
    );

    expect(outbound).toEqual({ path: '/v1beta1/projects/acme-ai/locations/europe-west4/publishers/anthropic/models/claude-3-5-haiku@20241022:rawPredict' });
  });

  it('reads a native path’s model from the path and /v1/messages’ from the body', () => {
    expect(vertexAnthropic.prepare?.('rawPredict', { providerPath: '/v1/publishers/anthropic/models/claude-sonnet-4@20250514:rawPredict', query: '', body: { model: 'ignored' } }, OPTIONS)).toEqual({
      model: 'claude-sonnet-4@20250514',
    });
    expect(vertexAnthropic.prepare?.('messages', { providerPath: '/v1/messages', query: '', body: { model: 'claude-sonnet-4@20250514' } }, OPTIONS)).toEqual({ model: 'claude-sonnet-4@20250514' });
  });

  it.each(['claude/x', 'claude:rawPredict', 'claude%2Fx', 'models', '', 'claude x'])('refuses to address the model %j', (model) => {
    const attempt = () => vertexAnthropic.outbound?.(request({ body: { model }, model }), OPTIONS);

    expect(attempt).toThrow(GatewayError);
  });

  it('needs the configured project', () => {
    const attempt = () => vertexAnthropic.outbound?.(request({ body: {}, model: 'claude-sonnet-4@20250514' }), { project: undefined, location: 'global' });

    expect(attempt).toThrow(expect.objectContaining({ code: 'provider_not_configured' }));
  });

  it.each([
    ['POST', '/v1/messages', MESSAGES],
    ['POST', '/v1/messages/count_tokens', { kind: 'free' }],
    ['POST', '/v1/publishers/anthropic/models/count-tokens:rawPredict', { kind: 'free' }],
    ['POST', '/v1/projects/p/locations/l/publishers/anthropic/models/claude-sonnet-4@20250514:rawPredict', { kind: 'metered', name: 'rawPredict' }],
    ['POST', '/v1/projects/p/locations/l/publishers/anthropic/models/claude-sonnet-4@20250514:streamRawPredict', { kind: 'metered', name: 'streamRawPredict' }],
    ['POST', '/v1/projects/p/locations/l/publishers/anthropic/models/claude-sonnet-4@20250514:generateContent', undefined],
    ['POST', '/v1/projects/p/locations/l/publishers/google/models/gemini-2.5-flash:rawPredict', undefined],
    ['POST', '/v1/projects/p/locations/l/endpoints/123:rawPredict', undefined],
    ['POST', '/v1/messages/batches', undefined],
    ['GET', '/v1/models', undefined],
    ['GET', '/v1/messages', undefined],
  ])('classifies %s %s', (method, path, operation) => {
    expect(vertexAnthropic.classify?.(method, path)).toEqual(operation);
  });
});
