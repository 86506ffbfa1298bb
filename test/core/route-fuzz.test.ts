import fc from 'fast-check';
import { GatewayError } from '../../lambda/core/errors';
import { parseConfig } from '../../lambda/config/config';
import { createRouter, type ParsedRoute } from '../../lambda/core/route';
import { googleVertex, type VertexOptions } from '../../lambda/providers/google-vertex';

const RUNS = 3_000;
const OPTIONS: VertexOptions = { project: 'tollgate-prod', location: 'europe-west4' };
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'get', 'Post'];

const router = createRouter(parseConfig({}, 'test'));
const ROUTE_NAMES = router.names;
const parseRoute = (method: string, url: string): ParsedRoute | undefined => router.parse(method, url);

/** Runs parseRoute, failing the property on anything but a route, undefined, or a 400/404 GatewayError. */
function parse(method: string, url: string): ParsedRoute | undefined {
  try {
    return parseRoute(method, url);
  } catch (error) {
    if (!(error instanceof GatewayError)) throw new Error(`parseRoute(${method}, ${JSON.stringify(url)}) threw ${String(error)}`);
    if (error.status !== 400 && error.status !== 404) throw new Error(`parseRoute(${method}, ${JSON.stringify(url)}) answered ${error.status}`);
    return undefined;
  }
}

/** A string with one character percent-encoded or its case flipped: the spellings that fooled the rewrite. */
function variant(word: string): fc.Arbitrary<string> {
  return fc.tuple(fc.nat({ max: Math.max(0, word.length - 1) }), fc.constantFrom('encode', 'ENCODE', 'upper', 'lower')).map(([at, how]) => {
    const ch = word.charAt(at);
    const code = `%${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
    const replaced = how === 'encode' ? code : how === 'ENCODE' ? code.toUpperCase() : how === 'upper' ? ch.toUpperCase() : ch.toLowerCase();
    return word.slice(0, at) + replaced + word.slice(at + 1);
  });
}

const VERTEX_WORDS = [
  'v1', 'v1beta1', 'projects', 'locations', 'publishers', 'google', 'anthropic', 'models', 'endpoints', 'victim', 'us-central1',
  'gemini-2.5-flash', 'gemini-2.5-flash:generateContent', 'gemini-2.5-flash:streamGenerateContent', 'gemini-2.5-flash:countTokens',
  '1234567890:computeTokens', 'm:rawPredict', 'x:y:generateContent', 'cachedContents', 'batchPredictionJobs', 'operations',
];

const JUNK = ['', '.', '..', '%2e%2e', '%2F', '%2f', 'a%2Fb', 'projects%2Fvictim', '%252F', '%3A', ':', '%5C', '\\', '%00', '~', '%7E', ';x', '?', '#', '%3F', '%'];

/** Path segments near the Vertex grammar: its own words, their variants, separators and junk. */
const vertexSegment: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...VERTEX_WORDS) },
  { weight: 2, arbitrary: fc.constantFrom(...VERTEX_WORDS).chain(variant) },
  { weight: 1, arbitrary: fc.constantFrom(...JUNK) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...'aZ09-._~:@%2Ff/\\?#'.split('')), maxLength: 8 }) },
);

/** A name where the grammar wants one: mostly a plausible one, sometimes anything. */
const nameSegment: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('google', 'anthropic', 'gemini-2.5-flash', 'victim', 'us-central1', '1234567890', 'claude-sonnet-4-5@20250929', 'acme.com:proj') },
  { weight: 1, arbitrary: vertexSegment },
);

/** Mostly well-formed shapes, so that a good share of runs is forwarded and the property is not vacuous. */
const vertexPath: fc.Arbitrary<string> = fc.oneof(
  fc.array(vertexSegment, { maxLength: 9 }).map((segments) => `/${segments.join('/')}`),
  fc
    .tuple(
      fc.oneof(fc.constantFrom('v1', 'v1beta1'), vertexSegment),
      fc.option(fc.tuple(nameSegment, nameSegment), { nil: undefined }),
      nameSegment,
      nameSegment,
      fc.constantFrom('generateContent', 'streamGenerateContent', 'countTokens', 'computeTokens', 'predict', 'rawPredict', 'streamRawPredict'),
    )
    .map(([version, scope, publisher, model, action]) =>
      `/${version}/${scope ? `projects/${scope[0]}/locations/${scope[1]}/` : ''}publishers/${publisher}/models/${model}:${action}`,
    ),
  fc
    .tuple(fc.constantFrom('v1', 'v1beta1'), nameSegment, nameSegment, nameSegment)
    .map(([version, project, location, endpoint]) => `/${version}/projects/${project}/locations/${location}/endpoints/${endpoint}:generateContent`),
  // Claude's own shapes, which the Claude binding addresses.
  fc
    .tuple(fc.constantFrom('v1', 'v1beta1'), fc.option(fc.tuple(nameSegment, nameSegment), { nil: undefined }), nameSegment, fc.constantFrom('rawPredict', 'streamRawPredict'))
    .map(([version, scope, model, action]) => `/${version}/${scope ? `projects/${scope[0]}/locations/${scope[1]}/` : ''}publishers/anthropic/models/${model}:${action}`),
  fc
    .tuple(fc.constantFrom('v1', 'v1beta1'), nameSegment, fc.option(nameSegment))
    .map(([version, publisher, model]) => `/${version}/publishers/${publisher}/models${model === null ? '' : `/${model}`}`),
);

describe('parseRoute, fuzzed', () => {
  it('answers any method and request target with a route, nothing, or a 400/404 GatewayError', () => {
    const route = fc.oneof(fc.constantFrom(...ROUTE_NAMES), fc.constantFrom(...ROUTE_NAMES).chain(variant), fc.constantFrom('models', '', '%2e%2e', 'proxy'));
    const target = fc.oneof(
      fc.tuple(route, fc.oneof(vertexPath, fc.webPath(), fc.string({ maxLength: 40 })), fc.oneof(fc.constant(''), fc.webQueryParameters().map((q) => `?${q}`)))
        .map(([name, path, query]) => `/proxy/${name}${path.startsWith('/') ? '' : '/'}${path}${query}`),
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.string({ unit: 'binary', maxLength: 60 }).map((rest) => `/proxy/${rest}`),
    );

    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...METHODS), fc.string({ maxLength: 8 })), target, (method, url) => {
        const parsed = parse(method, url);
        if (!parsed) return;
        // Only GET/HEAD/POST are ever forwarded; no DELETE anywhere.
        expect(['GET', 'HEAD', 'POST']).toContain(method);
        if (method !== 'POST') expect(parsed.operation).toEqual({ kind: 'free' });
        // Nothing the provider could read as another spelling of what was checked.
        expect(parsed.providerPath).not.toMatch(/%(?:[46][1-9a-f]|[57][0-9a]|3[0-9]|2[de]|5f|7e)/i);
      }),
      { numRuns: RUNS },
    );
  });

  it('forwards Vertex paths only in the configured project and location, with no encoded slash and no dot segment', () => {
    let forwarded = 0;
    let actions = 0;
    let claude = 0;
    fc.assert(
      fc.property(fc.constantFrom('GET', 'HEAD', 'POST', 'POST', 'DELETE'), vertexPath, fc.constantFrom('google-vertex', 'gemini', 'google'), (method, path, name) => {
        const parsed = parse(method, `/proxy/${name}${path}`);
        if (!parsed) return;
        // Claude's paths are addressed by their own binding; Gemini's by the kind's path mapping.
        const binding = parsed.candidates[0]?.binding;
        if (binding?.format === 'anthropic') claude++;
        const request = { ...parsed, body: {}, method, model: 'claude-sonnet-4-5@20250929' };
        const upstream = binding?.outbound?.(request, OPTIONS).path ?? googleVertex.upstreamPath?.(parsed.providerPath, OPTIONS) ?? '';
        forwarded++;

        const segments = upstream.split('/').slice(1);
        expect(upstream).not.toMatch(/%2f/i);
        expect(upstream).not.toContain('%');
        expect(segments.every((segment) => segment !== '' && segment !== '.' && segment !== '..')).toBe(true);
        // What undici puts on the request line is exactly this path: nothing left to normalise.
        expect(new URL(`https://aiplatform.googleapis.com${upstream}`).pathname).toBe(upstream);
        const [version, ...rest] = segments;
        expect(['v1', 'v1beta1']).toContain(version);
        const projectWords = rest.filter((segment) => segment.toLowerCase() === 'projects').length;
        if (method === 'POST') {
          actions++;
          expect(rest.slice(0, 4)).toEqual(['projects', OPTIONS.project, 'locations', OPTIONS.location]);
          expect(projectWords).toBe(1);
          expect(rest.slice(4).join('/')).toMatch(/^(?:publishers\/[a-z0-9-]+\/models|endpoints)\/[A-Za-z0-9_][A-Za-z0-9_.@-]*:[A-Za-z]+$/);
        } else {
          // Base-model lookups carry no project at all: Vertex refuses one there.
          expect(upstream).toMatch(/^\/v1(?:beta1)?\/publishers\/[a-z0-9-]+\/models(?:\/[A-Za-z0-9_][A-Za-z0-9_.@-]*)?$/);
        }
      }),
      { numRuns: RUNS },
    );

    // A property that forwarded nothing would prove nothing.
    expect(forwarded).toBeGreaterThan(RUNS / 20);
    expect(actions).toBeGreaterThan(RUNS / 40);
    expect(claude).toBeGreaterThan(RUNS / 100);
  });
});
