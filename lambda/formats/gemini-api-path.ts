import { GatewayError } from '../core/errors';
import { GEMINI_METERED_ACTIONS } from './gemini';
import { FREE } from './shared';
import type { Endpoints, Operation, PreparedRequest, RequestView } from './types';

/**
 * A Gemini Developer API (generativelanguage.googleapis.com) path tollgate forwards, parsed
 * against the only shapes it allows:
 *
 * ```
 * POST /{v1|v1beta}/models/{model}:{generateContent|streamGenerateContent|countTokens}
 * GET  /{v1|v1beta}/models[/{model}]                                        (base models)
 * ```
 *
 * Tuned models, cached contents, files and batches are objects of the API key's project, which
 * every gateway key would share: refused. So is any spelling but the plain one: the pattern has no
 * room for a `%`, so nothing the API could decode into another path gets through.
 */
export type GeminiApiPath =
  | { readonly kind: 'action'; readonly model: string; readonly action: string }
  | { readonly kind: 'models'; readonly model?: string };

const PATH = /^\/(?:v1|v1beta)\/models(?:\/([A-Za-z0-9][A-Za-z0-9_.-]*)(?::([A-Za-z]+))?)?$/;

export function parseGeminiApiPath(providerPath: string): GeminiApiPath | undefined {
  const match = PATH.exec(providerPath);
  if (!match) return undefined;
  const [, model, action] = match;
  if (action !== undefined && model !== undefined) return { kind: 'action', model, action };
  return model === undefined ? { kind: 'models' } : { kind: 'models', model };
}

/** The Gemini format's own operations (`streamGenerateContent` streams a JSON array without `?alt=sse`, here too), plus the free count. */
const ACTIONS: ReadonlyMap<string, Operation> = new Map<string, Operation>([...Object.entries(GEMINI_METERED_ACTIONS), ['countTokens', FREE]]);

/** How the Developer API's paths map to the Gemini format's operations, for a format binding. */
export const geminiApiPaths = {
  classify(method: string, providerPath: string): Operation | undefined {
    const path = parseGeminiApiPath(providerPath);
    if (path === undefined) return undefined;
    if (path.kind === 'models') return method === 'GET' || method === 'HEAD' ? FREE : undefined;
    return method === 'POST' ? ACTIONS.get(path.action) : undefined;
  },

  /** The body names no model: the path does, refined later by the response's `modelVersion`. */
  prepare(_operation: string, { providerPath }: RequestView): PreparedRequest {
    const path = parseGeminiApiPath(providerPath);
    if (path?.kind !== 'action') throw new GatewayError('invalid_request', 'The request path must name a model, as /v1beta/models/{model}:generateContent.');
    return { model: path.model };
  },

  endpoints: {
    metered: ['POST /v1beta/models/{model}:generateContent', 'POST /v1beta/models/{model}:streamGenerateContent'],
    free: ['POST /v1beta/models/{model}:countTokens', 'GET /v1beta/models', 'GET /v1beta/models/{model}'],
  } satisfies Endpoints,
};
