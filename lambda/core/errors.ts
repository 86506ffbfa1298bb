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
  | 'disabled_api_key'
  | 'expired_api_key'
  | 'key_blocked'
  | 'route_not_allowed'
  | 'model_not_allowed'
  | 'spend_limit_reached'
  | 'rate_limited'
  | 'invalid_json'
  | 'invalid_request'
  | 'body_too_large'
  | 'request_timeout'
  | 'unpriced_model'
  | 'unpriced_tier'
  | 'model_not_served'
  | 'provider_not_configured'
  | 'upstream_unreachable'
  | 'upstream_timeout'
  | 'upgrade_required'
  | 'store_unavailable'
  | 'internal_error';

const STATUS: Record<GatewayErrorCode, number> = {
  not_found: 404,
  unsupported_endpoint: 404,
  missing_api_key: 401,
  invalid_api_key: 401,
  revoked_api_key: 403,
  disabled_api_key: 403,
  expired_api_key: 401,
  key_blocked: 403,
  // 403: the key is fine, this use of it is not; every SDK shows it as a permission error and none retries it.
  route_not_allowed: 403,
  model_not_allowed: 403,
  // 402: the SDKs retry 408, 409, 429 and 5xx, and a spent budget does not come back in seconds.
  spend_limit_reached: 402,
  // 429 with Retry-After: here a retry is exactly right, and the SDKs honour the header.
  rate_limited: 429,
  invalid_json: 400,
  invalid_request: 400,
  body_too_large: 413,
  // The client did not send its body in time; the connection is closed after the answer.
  request_timeout: 408,
  // 400, not 402/429: the SDKs would retry 429, and a missing price does not fix itself in seconds.
  unpriced_model: 400,
  // A service tier with no known price: as a model with none.
  unpriced_tier: 400,
  // One account has no name for the model (Bedrock's table lacks it): another member may, so a group passes it by.
  model_not_served: 400,
  provider_not_configured: 500,
  upstream_unreachable: 502,
  upstream_timeout: 504,
  // What Codex CLI waits for before it falls back from a WebSocket to plain HTTP.
  upgrade_required: 426,
  // 503 with Retry-After: the gateway cannot record spend for now, and the SDKs retry it.
  store_unavailable: 503,
  internal_error: 500,
};

export class GatewayError extends Error {
  readonly status: number;
  /** Extra response headers, such as Retry-After. */
  readonly headers: Record<string, string>;

  constructor(
    readonly code: GatewayErrorCode,
    message: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options);
    this.name = 'GatewayError';
    this.status = STATUS[code];
    this.headers = options?.headers ?? {};
  }

}

/**
 * The reason a runtime gives when it stops an upstream call because the gateway's own time for
 * the request ran out (in Lambda, the invocation nearing its timeout): what the client is then
 * told names the gateway's limit, not a failure of the provider's.
 */
export class GatewayTimeLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GatewayTimeLimitError';
  }
}
