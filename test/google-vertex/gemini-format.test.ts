import { DEFAULT_METERING_SETTINGS } from '../../lambda/config/config';
import { GatewayError } from '../../lambda/core/errors';
import { geminiFormat } from '../../lambda/formats/gemini';
import type { Metered } from '../../lambda/formats/types';
import { createFramer, framingFor, type Framing } from '../../lambda/metering/framing';
import { Pricer } from '../../lambda/pricing/pricer';
import { vertexFixture } from '../support/fake-google';
import { expectedNanos } from '../support/vertex-harness';

function meterStream(framing: Framing, chunks: Uint8Array[]): Metered {
  const reader = geminiFormat.streamReader('streamGenerateContent');
  const framer = createFramer(framing, (message) => reader.onMessage(message), DEFAULT_METERING_SETTINGS.maxBufferedBytes);
  for (const chunk of chunks) framer.push(chunk);
  framer.end();
  return reader.result();
}

function nanosOf(metered: Metered, requestModel: string): number | undefined {
  return metered.usage && new Pricer().price('google', metered.model ?? requestModel, metered.usage)?.nanos;
}

describe('the gemini wire format', () => {
  describe('classify', () => {
    it.each([
      ['POST', '/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent', { kind: 'metered', name: 'generateContent' }],
      ['POST', '/v1beta1/publishers/google/models/gemini-2.5-flash:generateContent', { kind: 'metered', name: 'generateContent' }],
      ['POST', '/v1/publishers/google/models/gemini-2.5-flash:streamGenerateContent', { kind: 'metered', name: 'streamGenerateContent', streams: true }],
      ['POST', '/v1/projects/p/locations/l/endpoints/1234567890:generateContent', { kind: 'metered', name: 'generateContent' }],
      ['POST', '/v1/publishers/google/models/gemini-2.5-flash:countTokens', { kind: 'free' }],
      ['POST', '/v1/publishers/google/models/gemini-2.5-flash:computeTokens', { kind: 'free' }],
      ['GET', '/v1beta1/publishers/google/models', { kind: 'free' }],
    ])('%s %s', (method, path, expected) => {
      expect(geminiFormat.classify(method, path)).toEqual(expected);
    });

    it.each([
      // Anthropic-on-Vertex and embeddings are other formats: refused, never forwarded unmetered.
      ['POST', '/v1/projects/p/locations/l/publishers/anthropic/models/claude-sonnet-4:rawPredict'],
      ['POST', '/v1/publishers/google/models/text-embedding-005:predict'],
      ['POST', '/v1/projects/p/locations/l/cachedContents'],
      ['DELETE', '/v1/projects/p/locations/l/cachedContents/123'],
      ['POST', '/v1/publishers/google/models/gemini-2.5-flash:constructor'],
    ])('refuses %s %s', (method, path) => {
      expect(geminiFormat.classify(method, path)).toBeUndefined();
    });
  });

  it('prices the model named in the path, since the body names none', () => {
    const prepared = geminiFormat.prepare('generateContent', {
      providerPath: '/v1/publishers/google/models/gemini-2.5-flash:generateContent',
      query: '',
      body: { contents: [] },
    });

    expect(prepared).toEqual({ model: 'gemini-2.5-flash' });
  });

  it.each([
    [{ generationConfig: { maxOutputTokens: 512 } }, 512],
    [{ generationConfig: { temperature: 0 } }, undefined],
    [{ generation_config: { max_output_tokens: 700 } }, 700],
    [{ generationConfig: { maxOutputTokens: 100 }, generation_config: { max_output_tokens: 900 } }, 900],
    [{}, undefined],
  ])('reads the output cap a request sets, for spend reservations: %j', (body, expected) => {
    expect(geminiFormat.maxOutputTokens?.('generateContent', { providerPath: '/v1/publishers/google/models/m:generateContent', query: '', body })).toBe(expected);
  });

  it.each([[{ generationConfig: { maxOutputTokens: -1 } }], [{ generationConfig: { maxOutputTokens: 0 } }], [{ generationConfig: { maxOutputTokens: '8192' } }], [{ generation_config: { candidate_count: 0 } }]])(
    'refuses an output cap or candidate count it cannot bound: %j',
    (body) => {
      const view = { providerPath: '/v1/publishers/google/models/m:generateContent', query: '', body };
      expect(() => [geminiFormat.maxOutputTokens?.('generateContent', view), geminiFormat.outputCount?.('generateContent', view)]).toThrow(/must be a whole number/);
    },
  );

  it('reads candidateCount under either spelling Vertex accepts', () => {
    const view = (body: Record<string, unknown>) => ({ providerPath: '/v1/publishers/google/models/m:generateContent', query: '', body });
    expect(geminiFormat.outputCount?.('generateContent', view({ generationConfig: { candidateCount: 4 } }))).toBe(4);
    expect(geminiFormat.outputCount?.('generateContent', view({ generation_config: { candidate_count: 3 } }))).toBe(3);
    expect(geminiFormat.outputCount?.('generateContent', view({}))).toBe(1);
  });

  it('meters a whole response from its usageMetadata, with the model from modelVersion', () => {
    const body: unknown = JSON.parse(vertexFixture('generate-content.json').toString('utf8'));

    const metered = geminiFormat.usageFromBody('generateContent', body, {});

    expect(metered.model).toBe('gemini-2.5-flash');
    expect(nanosOf(metered, 'unused')).toBe(expectedNanos({ input_tokens: 2113, cache_read_tokens: 1536, output_tokens: 73 }, 'gemini-2.5-flash'));
  });

  it.each([
    ['an SSE stream', 'text/event-stream', 'stream.sse', expectedNanos({ input_tokens: 1410, cache_read_tokens: 1024, output_tokens: 106 }, 'gemini-2.5-flash')],
    ['a streamed JSON array', 'application/json; charset=UTF-8', 'stream.json', expectedNanos({ input_tokens: 27, output_tokens: 163 }, 'gemini-2.5-pro')],
  ])('meters %s the same however it is split, down to every byte boundary', (_name, contentType, file, nanos) => {
    // GIVEN the framing the meter would pick for this response
    const framing = framingFor(contentType, true);
    const whole = vertexFixture(file);
    const expected = meterStream(framing!, [whole]);

    // THEN the whole stream prices as computed by hand
    expect(nanosOf(expected, 'unused')).toBe(nanos);
    // AND every two-way split, and byte-by-byte feeding, yields the same result
    for (let at = 1; at < whole.length; at++) {
      expect(meterStream(framing!, [whole.subarray(0, at), whole.subarray(at)])).toEqual(expected);
    }
    expect(meterStream(framing!, Array.from(whole, (byte) => Uint8Array.of(byte)))).toEqual(expected);
  });

  it('keeps the last usage that counts tokens, not a later block with only trafficType', () => {
    const chunks = [
      { usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 15 }, modelVersion: 'gemini-2.5-flash' },
      { usageMetadata: { trafficType: 'ON_DEMAND' } },
    ];

    const metered = meterStream('json-array', [Buffer.from(JSON.stringify(chunks))]);

    expect(metered.usage?.doc).toEqual({ usageMetadata: chunks[0]?.usageMetadata });
  });

  it('reports an error element inside a 200 stream as a failure, keeping the usage seen before it', () => {
    const stream = `[{"candidates":[],"usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":2},"modelVersion":"gemini-2.5-flash"}
,{"error":{"code":500,"message":"Internal error encountered.","status":"INTERNAL"}}]`;

    const metered = meterStream('json-array', [Buffer.from(stream)]);

    expect(metered.failure).toBe('Internal error encountered.');
    expect(metered.usage?.doc).toEqual({ usageMetadata: { promptTokenCount: 8, candidatesTokenCount: 2 } });
  });

  it('renders gateway errors in Google’s error shape', () => {
    const rendered = geminiFormat.renderError(new GatewayError('invalid_api_key', 'Unknown gateway key.'));

    expect(rendered.contentType).toBe('application/json');
    expect(JSON.parse(rendered.body)).toEqual({ error: { code: 401, message: 'Unknown gateway key.', status: 'UNAUTHENTICATED' } });
  });
});
