/**
 * Errors the gateway itself produces. Each wire format renders them in its own API's error
 * shape, so the caller's SDK surfaces the message; `code` is a stable machine-readable tag.
 */
export type GatewayErrorCode =
  | 'not_found'
  | 'unsupported_endpoint'
  | 'missing_api_key'
  | 'invalid_api_key'
  | 'revoked_api_key'
  | 'invalid_json'
  | 'invalid_request'
  | 'body_too_large'
  | 'unpriced_model'
  | 'provider_not_configured'
  | 'upstream_unreachable'
  | 'internal_error';

const STATUS: Record<GatewayErrorCode, number> = {
  not_found: 404,
  unsupported_endpoint: 404,
  missing_api_key: 401,
  invalid_api_key: 401,
  revoked_api_key: 403,
  invalid_json: 400,
  invalid_request: 400,
  body_too_large: 413,
  // 400, not 402/429: the SDKs would retry 429, and a missing price does not fix itself in seconds.
  unpriced_model: 400,
  provider_not_configured: 500,
  upstream_unreachable: 502,
  internal_error: 500,
};

export class GatewayError extends Error {
  readonly status: number;

  constructor(
    readonly code: GatewayErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GatewayError';
    this.status = STATUS[code];
  }
}
