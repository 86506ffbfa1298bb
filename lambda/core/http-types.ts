/**
 * The runtime-neutral request and response the core speaks. Adapters (node:http, Lambda
 * streaming) convert to and from these once, at the edge; nothing inside the core sees a
 * runtime's own objects, and nothing wraps bodies in WHATWG streams (measured ~2.5× slower).
 */
export type IncomingHeaders = Readonly<Record<string, string | string[] | undefined>>;
export type OutgoingHeaders = Record<string, string | string[]>;

export interface GatewayRequest {
  readonly method: string;
  /** Path with query string, exactly as the client sent it (origin-form). */
  readonly url: string;
  /** Lower-cased header names, as node:http delivers them. */
  readonly headers: IncomingHeaders;
  readonly body: AsyncIterable<Uint8Array>;
}

/**
 * The body must be consumed with `for await` (or its iterator returned): spend is settled when
 * that iteration ends, even if the consumer stops early because the client went away.
 */
export interface GatewayResponse {
  readonly status: number;
  readonly headers: OutgoingHeaders;
  readonly body: AsyncIterable<Uint8Array>;
}

export function headerValue(headers: IncomingHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export async function* bytes(...chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}
