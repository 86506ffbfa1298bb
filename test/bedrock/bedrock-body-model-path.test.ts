import { bedrockAnthropic } from '../../lambda/providers/bedrock-anthropic';

/**
 * A Bedrock path a caller writes is refused when a segment decodes to a dot segment
 * (route.ts isUnsafeSegment). The model named in a Messages body becomes that same segment, but
 * is only percent-encoded: `..` segments survive, encoded.
 */
describe('Claude on Bedrock: the body model in the path (review)', () => {
  it('refuses a model that decodes to dot segments, as the path check does', () => {
    const request = {
      providerPath: '/v1/messages', query: '', method: 'POST', operation: { kind: 'metered', name: 'messages' } as const,
      body: { model: 'us.x/../../async-invoke', max_tokens: 1, messages: [] }, model: 'us.x/../../async-invoke',
    };
    let path: string | undefined;
    try {
      path = bedrockAnthropic.outbound!(request, { region: 'us-east-1' }).path;
    } catch {
      path = undefined;
    }
    expect(path).toBeUndefined();
  });
});
