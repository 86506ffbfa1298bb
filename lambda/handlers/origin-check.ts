import { createHash, timingSafeEqual } from 'node:crypto';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { GatewayError } from '../core/errors';
import { bytes, type GatewayResponse } from '../core/http-types';
import type { Logger } from '../core/log';
import type { WireFormat } from '../formats/types';
import { FORMATS } from '../providers';
import { ORIGIN_HEADER } from './env';

/** Admitted: the event without the origin header. Refused: the answer to send instead. */
export type OriginVerdict = { readonly admitted: LambdaFunctionURLEvent } | { readonly refused: GatewayResponse };

export interface OriginCheckOptions {
  readonly client: SecretsManagerClient;
  readonly secretId: string;
  readonly logger: Logger;
  /** The API a path speaks, so the refusal comes in its error shape (the gateway's router). */
  readonly formatOf: (method: string, url: string) => WireFormat | undefined;
  /** How long the secret is used before it is read again. @default 5 minutes */
  readonly ttlMs?: number;
  /** @default Date.now */
  readonly clock?: () => number;
}

/**
 * With a CloudFront front, the function URL stays public (SDKs cannot sign for an IAM-authorised
 * one), so a client could walk around the WAF by calling it directly. CloudFront adds a secret
 * header to everything it forwards; this serves only requests that carry it, compared in constant
 * time, and takes the header out before the gateway sees the request (it must never reach a
 * provider). Anything else gets a 404 in the route's own error shape: behind a front, the function
 * URL is not an address of the gateway.
 *
 * @example
 * const check = originCheck({ client: secrets, secretId: env.TOLLGATE_ORIGIN_SECRET_ARN, logger, formatOf: router.formatOf });
 * const verdict = await check(event);
 */
export function originCheck(options: OriginCheckOptions): (event: LambdaFunctionURLEvent) => Promise<OriginVerdict> {
  const ttlMs = options.ttlMs ?? 5 * 60_000;
  const clock = options.clock ?? Date.now;
  let expected: { readonly digest: Buffer; readonly readAt: number } | undefined;
  let reading: Promise<Buffer> | undefined;

  const read = async (): Promise<Buffer> => {
    const { SecretString } = await options.client.send(new GetSecretValueCommand({ SecretId: options.secretId }));
    if (!SecretString) throw new Error(`secret ${options.secretId} holds no string`);
    const digest = sha256(SecretString);
    expected = { digest, readAt: clock() };
    return digest;
  };
  const current = async (): Promise<Buffer> => {
    if (expected && clock() - expected.readAt < ttlMs) return expected.digest;
    reading ??= read().finally(() => (reading = undefined));
    try {
      return await reading;
    } catch (error) {
      // A Secrets Manager outage: keep serving with the last value read, if any.
      if (expected) return expected.digest;
      throw error;
    }
  };

  return async (event) => {
    const headers = event.headers ?? {};
    const presented = headers[ORIGIN_HEADER];
    let digest: Buffer;
    try {
      digest = await current();
    } catch (error) {
      options.logger.error('origin_secret_unavailable', { message: error instanceof Error ? error.message : String(error) });
      return { refused: refusal(event, options.formatOf, new GatewayError('internal_error', 'The gateway could not verify that this request came through its front door.')) };
    }
    if (presented === undefined || !timingSafeEqual(sha256(presented), digest)) {
      options.logger.info('request_rejected', { code: 'origin_bypassed', status: 404 });
      return {
        refused: refusal(event, options.formatOf, new GatewayError('not_found', 'This gateway is served through its CloudFront address; its function URL does not answer requests directly.')),
      };
    }
    const { [ORIGIN_HEADER]: _checked, ...rest } = headers;
    return { admitted: { ...event, headers: rest } };
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The error in the API shape the path names, as the gateway renders its own. */
function refusal(event: LambdaFunctionURLEvent, formatOf: OriginCheckOptions['formatOf'], error: GatewayError): GatewayResponse {
  let format: WireFormat | undefined;
  try {
    format = formatOf(event.requestContext.http.method, event.rawPath || '/');
  } catch {
    // A path the router refuses to read: the refusal still goes out, in the default shape.
  }
  format ??= FORMATS.openai;
  const rendered = format.renderError(error);
  return {
    status: error.status,
    headers: { 'content-type': rendered.contentType, 'x-tollgate-error': error.code },
    body: bytes(Buffer.from(rendered.body)),
  };
}
