import { ConfigError, parseConfig } from '../../lambda/config/config';
import { GatewayError } from '../../lambda/core/errors';
import { googleVertex, type VertexOptions } from '../../lambda/providers/google-vertex';

const OPTIONS: VertexOptions = { project: 'tollgate-prod', location: 'europe-west4' };

describe('the google-vertex provider', () => {
  describe('maps every caller path into the configured project and location', () => {
    it.each([
      ['/v1/projects/someone-else/locations/us-east1/publishers/google/models/gemini-2.5-flash:generateContent',
        '/v1/projects/tollgate-prod/locations/europe-west4/publishers/google/models/gemini-2.5-flash:generateContent'],
      ['/v1beta1/projects/123456/locations/global/publishers/google/models/gemini-2.5-pro:streamGenerateContent',
        '/v1beta1/projects/tollgate-prod/locations/europe-west4/publishers/google/models/gemini-2.5-pro:streamGenerateContent'],
      ['/v1/publishers/google/models/gemini-2.5-flash:countTokens',
        '/v1/projects/tollgate-prod/locations/europe-west4/publishers/google/models/gemini-2.5-flash:countTokens'],
      // A tuned model's endpoint, with or without the caller's project.
      ['/v1/projects/someone-else/locations/us-east1/endpoints/1234567890:generateContent',
        '/v1/projects/tollgate-prod/locations/europe-west4/endpoints/1234567890:generateContent'],
      ['/v1beta1/endpoints/1234567890:countTokens',
        '/v1beta1/projects/tollgate-prod/locations/europe-west4/endpoints/1234567890:countTokens'],
      // Base-model listing and lookup take no project prefix on Vertex.
      ['/v1beta1/publishers/google/models', '/v1beta1/publishers/google/models'],
      ['/v1/publishers/google/models/gemini-2.5-flash', '/v1/publishers/google/models/gemini-2.5-flash'],
    ])('%s', (caller, upstream) => {
      expect(googleVertex.upstreamPath?.(caller, OPTIONS)).toBe(upstream);
    });

    it('refuses project-scoped paths when no project is configured, rather than forwarding the caller’s', () => {
      const call = () => googleVertex.upstreamPath?.('/v1/projects/someone-else/locations/l/publishers/google/models/m:generateContent', { location: 'global' });

      expect(call).toThrow(GatewayError);
      expect(call).toThrow('needs "options.project"');
    });
  });

  describe('config', () => {
    function vertexSettings(given: unknown) {
      return parseConfig({ providers: { 'google-vertex': given } }, 'test').providers['google-vertex'];
    }

    it.each([
      [{ project: 'p-1' }, 'https://aiplatform.googleapis.com/'],
      [{ project: 'p-1', location: 'global' }, 'https://aiplatform.googleapis.com/'],
      [{ project: 'p-1', location: 'us-central1' }, 'https://us-central1-aiplatform.googleapis.com/'],
      [{ project: 'p-1', location: 'eu' }, 'https://aiplatform.eu.rep.googleapis.com/'],
    ])('derives the upstream host from the location %j', (options, baseUrl) => {
      expect(vertexSettings({ options }).baseUrl.href).toBe(baseUrl);
    });

    it('lets an explicit baseUrl win over the derived one', () => {
      expect(vertexSettings({ baseUrl: 'http://127.0.0.1:9000', options: { project: 'p-1', location: 'us-central1' } }).baseUrl.href).toBe('http://127.0.0.1:9000/');
    });

    it('defaults to the global location, Google’s token endpoint and the GOOGLE_APPLICATION_CREDENTIALS_JSON variable', () => {
      const settings = parseConfig({}, 'test').providers['google-vertex'];

      expect(settings.baseUrl.href).toBe('https://aiplatform.googleapis.com/');
      expect(settings.options).toEqual({ location: 'global' });
      expect(settings.credential).toEqual({ kind: 'env', name: 'GOOGLE_APPLICATION_CREDENTIALS_JSON' });
    });

    it.each([
      [{ project: 'Acme/../other' }, 'providers.google-vertex.options.project: must be a Google Cloud project id or number'],
      [{ location: 'us-central1/x' }, 'providers.google-vertex.options.location: must be a Vertex AI location'],
      [{ tokenUrl: 'file:///etc/passwd' }, 'providers.google-vertex.options.tokenUrl: must be an http(s) URL'],
      [{ projekt: 'p' }, 'providers.google-vertex.options'],
    ])('names the bad field in %j', (options, message) => {
      expect(() => vertexSettings({ options })).toThrow(ConfigError);
      expect(() => vertexSettings({ options })).toThrow(message);
    });
  });
});

describe('Vertex paths outside the shapes tollgate forwards', () => {
  it.each([
    // A project named out of place, or a project-scoped object store.
    '/v1/x/projects/theirs/locations/l/publishers/google/models/m:generateContent',
    '/v1/projects/someone-else/locations/us-east1/cachedContents/42',
    '/v1/projects/someone-else',
    // No API version: not a Vertex path.
    '/projects/someone-else/locations/us-east1/publishers/google/models/m:generateContent',
  ])('refuses %s rather than forwarding it', (path) => {
    expect(() => googleVertex.upstreamPath?.(path, OPTIONS)).toThrow(GatewayError);
  });
});
