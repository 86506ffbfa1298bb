import { errorType } from '../formats/anthropic';
import { isObject } from '../formats/shared';
import type { JsonDocument } from './json-document';

/**
 * Claude's errors from Bedrock and Vertex, in Anthropic's shape: a caller of the Messages API gets
 * `{"type":"error","error":{"type":"rate_limit_error","message":…}}` whoever ran the model, so its
 * SDK raises the typed error (`RateLimitError`) with the provider's message. The status is the
 * provider's; the type is read from the provider's own name for the error, else from the status.
 */

/**
 * Bedrock's exceptions (`x-amzn-errortype`), as the Anthropic error that means the same. Bedrock's
 * own 403s for a bad signature or key are the gateway's credential failing, not the caller's.
 */
const BEDROCK_TYPES: Readonly<Record<string, string>> = {
  ValidationException: 'invalid_request_error',
  ServiceQuotaExceededException: 'rate_limit_error',
  ThrottlingException: 'rate_limit_error',
  AccessDeniedException: 'permission_error',
  UnrecognizedClientException: 'authentication_error',
  InvalidSignatureException: 'authentication_error',
  ExpiredTokenException: 'authentication_error',
  ResourceNotFoundException: 'not_found_error',
  ModelTimeoutException: 'timeout_error',
  ModelNotReadyException: 'overloaded_error',
  ServiceUnavailableException: 'overloaded_error',
  ModelErrorException: 'api_error',
  InternalServerException: 'api_error',
};

/** Google's canonical error codes (`error.status`), as Anthropic's error types. */
const GOOGLE_TYPES: Readonly<Record<string, string>> = {
  INVALID_ARGUMENT: 'invalid_request_error',
  FAILED_PRECONDITION: 'invalid_request_error',
  OUT_OF_RANGE: 'invalid_request_error',
  UNAUTHENTICATED: 'authentication_error',
  PERMISSION_DENIED: 'permission_error',
  NOT_FOUND: 'not_found_error',
  RESOURCE_EXHAUSTED: 'rate_limit_error',
  DEADLINE_EXCEEDED: 'timeout_error',
  UNAVAILABLE: 'overloaded_error',
  INTERNAL: 'api_error',
  UNKNOWN: 'api_error',
};

/**
 * Bedrock's `{"message": …}` with its type in `x-amzn-errortype` (`ThrottlingException:http://…`).
 * Undefined for a body already in Anthropic's shape (Bedrock passes some of Claude's own on) or
 * one with no message to carry.
 */
export function anthropicErrorFromBedrock({ status, headers, json }: JsonDocument): Record<string, unknown> | undefined {
  if (!isObject(json) || json['type'] === 'error') return undefined;
  const message = json['message'] ?? json['Message'];
  if (typeof message !== 'string') return undefined;
  const header = headers['x-amzn-errortype'];
  const exception = (Array.isArray(header) ? header[0] : header)?.split(':')[0]?.trim() ?? '';
  const type = Object.hasOwn(BEDROCK_TYPES, exception) ? BEDROCK_TYPES[exception] : undefined;
  return anthropicError(type ?? errorType(status), exception === '' ? message : `${exception}: ${message}`);
}

/**
 * Google's `{"error":{"code","message","status"}}`, also as the one element of an array (as a
 * streaming action sends it). Undefined for anything else: Claude's own errors come through Vertex
 * already in Anthropic's shape.
 */
export function anthropicErrorFromGoogle({ status, json }: JsonDocument): Record<string, unknown> | undefined {
  const document = Array.isArray(json) && json.length === 1 ? json[0] : json;
  if (!isObject(document) || document['type'] === 'error') return undefined;
  const error = document['error'];
  if (!isObject(error) || typeof error['message'] !== 'string') return undefined;
  const code = typeof error['status'] === 'string' ? error['status'] : '';
  const type = Object.hasOwn(GOOGLE_TYPES, code) ? GOOGLE_TYPES[code] : undefined;
  return anthropicError(type ?? errorType(status), error['message']);
}

function anthropicError(type: string, message: string): Record<string, unknown> {
  return { type: 'error', error: { type, message } };
}
