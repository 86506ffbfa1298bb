import { GatewayError } from './errors';
import { headerValue, type IncomingHeaders } from './http-types';

/**
 * Requests are buffered: the model must be read, and priced, before anything is forwarded. A body
 * announced larger than the limit is refused before a byte of it is read.
 */
export async function readBody(body: AsyncIterable<Uint8Array>, limit: number, headers: IncomingHeaders = {}): Promise<Buffer> {
  const announced = Number(headerValue(headers, 'content-length'));
  if (announced > limit) throw tooLarge(limit);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError('body_too_large', `The request body is larger than the gateway's limit of ${limit} bytes.`);
}

export function parseJsonObject(body: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new GatewayError('invalid_json', `The request body is not valid JSON: ${reason}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new GatewayError('invalid_json', 'The request body must be a JSON object.');
  }
  return parsed as Record<string, unknown>;
}
