import { GatewayError } from '../core/errors';
import { decodeSegment } from './shared';

/**
 * A Vertex AI path tollgate forwards, parsed against the only shapes it allows:
 *
 * ```
 * POST /{version}/[projects/{p}/locations/{l}/]publishers/{publisher}/models/{model}:{action}
 * POST /{version}/[projects/{p}/locations/{l}/]endpoints/{endpoint}:{action}     (a tuned model)
 * GET  /{version}/publishers/{publisher}/models[/{model}]                       (base models)
 * ```
 *
 * The caller's project and location are parsed only to be dropped: the google-vertex provider
 * rebuilds the upstream path from these parts with the gateway's own, so no spelling reaches a
 * project the gateway was not given.
 */
export type VertexPath =
  | { readonly kind: 'action'; readonly version: string; readonly resource: string; readonly model: string; readonly action: string }
  | { readonly kind: 'base-models'; readonly version: string; readonly publisher: string; readonly model?: string };

const VERSIONS: ReadonlySet<string> = new Set(['v1', 'v1beta1']);

/** Words whose position gives a path its meaning; any other spelling of them is refused, not guessed at. */
const FIXED_WORDS: ReadonlySet<string> = new Set([...VERSIONS, 'projects', 'locations', 'publishers', 'models', 'endpoints']);

const PUBLISHER = /^[a-z0-9][a-z0-9-]*$/;
/** `gemini-2.5-flash`, `claude-sonnet-4-5@20250929`, a tuned endpoint's number. */
const MODEL = /^[A-Za-z0-9_][A-Za-z0-9_.@-]*$/;
/** A project id, number or `domain:id`, and a location: whatever the caller named, it is replaced. */
const SCOPE_VALUE = /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/;
const ACTION = /^[A-Za-z]+$/;

/**
 * Undefined when the path is none of the allowed shapes (a 404 for the caller). Throws
 * GatewayError (400) when it could be read two ways: a percent-encoded `/`, an encoded or
 * case-variant spelling of a fixed word (`%2F`, `PROJECTS`, `%70rojects`), a fixed word used as
 * a name, a name that is not one.
 */
export function parseVertexPath(providerPath: string): VertexPath | undefined {
  const raw = providerPath.split('/');
  if (raw[0] !== '') return undefined;
  const [version, ...rest] = raw.slice(1).map(decodeUnambiguous);
  if (version === undefined || !VERSIONS.has(version)) return undefined;
  const scoped = rest[0] === 'projects';
  if (scoped) {
    if (rest[2] !== 'locations' || rest.length < 5) return undefined;
    name(rest[1], SCOPE_VALUE);
    name(rest[3], SCOPE_VALUE);
    rest.splice(0, 4);
  }

  const [first, publisher, models] = rest;
  const last = rest[rest.length - 1] ?? '';
  const colon = last.indexOf(':');
  if (colon !== -1) {
    const action = last.slice(colon + 1);
    if (!ACTION.test(action)) return undefined;
    const model = last.slice(0, colon);
    if (rest.length === 4 && first === 'publishers' && models === 'models') {
      return { kind: 'action', version, resource: `publishers/${name(publisher, PUBLISHER)}/models`, model: name(model, MODEL), action };
    }
    if (rest.length === 2 && first === 'endpoints') return { kind: 'action', version, resource: 'endpoints', model: name(model, MODEL), action };
    return undefined;
  }
  // Vertex refuses a project prefix on base-model lookups, so such a path is not one we forward.
  if (scoped || first !== 'publishers' || models !== 'models') return undefined;
  if (rest.length === 3) return { kind: 'base-models', version, publisher: name(publisher, PUBLISHER) };
  if (rest.length === 4) return { kind: 'base-models', version, publisher: name(publisher, PUBLISHER), model: name(last, MODEL) };
  return undefined;
}

function ambiguous(segment: string, why: string): GatewayError {
  return new GatewayError('invalid_request', `The Vertex path segment "${segment}" ${why}; tollgate forwards only the plain spelling, so it and Vertex cannot read the path differently.`);
}

/**
 * Decodes a segment, refusing what a decoding upstream would read as another path: an encoded
 * separator, or a fixed word spelled any way but its own (`PROJECTS`, `%70rojects`, `Models`).
 */
function decodeUnambiguous(segment: string): string {
  const decoded = decodeSegment(segment);
  if (/[/\\?#]/.test(decoded)) throw ambiguous(segment, 'holds an encoded separator');
  // `models/m%3AgenerateContent`: the action a decoding upstream sees would not be the one checked here.
  if (decoded.split(':').length !== segment.split(':').length) throw ambiguous(segment, 'encodes a ":"');
  const colon = segment.indexOf(':');
  if (colon !== -1 && segment.includes('%', colon)) throw ambiguous(segment, 'encodes its action');
  const word = decoded.split(':', 1)[0] ?? '';
  if (FIXED_WORDS.has(word.toLowerCase()) && segment.split(':', 1)[0] !== word.toLowerCase()) {
    throw ambiguous(segment, 'spells a fixed word of the path differently');
  }
  return decoded;
}

/** A name in the path (project, location, publisher, model): a fixed word there would be read by position alone. */
function name(value: string | undefined, pattern: RegExp): string {
  const given = value ?? '';
  if (FIXED_WORDS.has(given.toLowerCase())) throw ambiguous(given, 'uses a fixed word of the path as a name');
  if (!pattern.test(given)) throw new GatewayError('invalid_request', `"${given}" in the Vertex path is not a valid project, location, publisher or model name.`);
  return given;
}
