import { z } from 'zod';

/**
 * Errors are values with stable codes. Every error that reaches the wire is an ApiError (or is turned into one
 * by the error handler) and is served as the Signicat error object (contract §4). Nothing else reaches the wire:
 * no stack traces, no SQL, no other tenant's data.
 */
export interface InvalidParam {
  name: string;
  reason: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail: string,
    readonly invalidParams?: InvalidParam[],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'ApiError';
  }
}

/** Each code names its own error type; the catalogue is in docs/errors.md. */
export const errorTypeUri = (code: string) => `urn:reuseid:error:${code}`;

export const errors = {
  invalidRequest: (detail: string) => new ApiError(400, 'invalid_request', 'Invalid request', detail),
  invalidParameters: (invalidParams: InvalidParam[], detail = 'Your request parameters have failed validation.') =>
    new ApiError(422, 'invalid_request_parameter', 'Invalid request parameter', detail, invalidParams),
  invalidToken: (detail = 'The access token is missing, invalid or expired.') =>
    new ApiError(401, 'invalid_token', 'Invalid authentication token', detail, undefined, {
      'WWW-Authenticate': 'Bearer error="invalid_token"',
    }),
  insufficientPermissions: (permission: string) =>
    new ApiError(403, 'insufficient_permissions', 'Insufficient permissions', `The API client lacks the '${permission}' permission.`),
  transactionNotFound: (id: string) =>
    new ApiError(404, 'transaction_not_found', 'Transaction not found', `No transaction with ID ${id} exists for this account.`),
  userNotFound: (id: string) =>
    new ApiError(404, 'user_entity_does_not_exist', 'User entity does not exist', `No user with ID ${id} exists for this account.`),
  deviceNotFound: (detail: string) => new ApiError(404, 'device_not_found', 'Device not found', detail),
  routeNotFound: (method: string, url: string) =>
    new ApiError(404, 'not_found', 'Not found', `No route ${method} ${url.split('?')[0]}.`),
  methodNotAllowed: (method: string, url: string, allowed: string[]) =>
    new ApiError(405, 'method_not_allowed', 'Method not allowed', `${url.split('?')[0]} does not answer ${method}; it answers ${allowed.join(', ')}.`, undefined, {
      Allow: allowed.join(', '),
    }),
  conflict: (code: string, title: string, detail: string) => new ApiError(409, code, title, detail),
  unsupportedMediaType: (detail: string) => new ApiError(415, 'unsupported_media_type', 'Unsupported media type', detail),
  requestTimeout: () => new ApiError(408, 'request_timeout', 'Request timeout', 'The request was not received in time.'),
  payloadTooLarge: (detail: string) => new ApiError(413, 'payload_too_large', 'Payload too large', detail),
  uriTooLong: () => new ApiError(414, 'uri_too_long', 'URI too long', 'A path segment of the URL is longer than any identifier this API uses.'),
  requestHeadersTooLarge: () => new ApiError(431, 'request_headers_too_large', 'Request headers too large', 'The request headers exceed the size limit.'),
  tooManyRequests: (retryAfterSeconds: number, detail = 'Too many requests; retry later.') =>
    new ApiError(429, 'too_many_requests', 'Too many requests', detail, undefined, { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) }),
  deviceUnauthenticated: (detail: string) =>
    new ApiError(401, 'invalid_device_signature', 'Device authentication failed', detail, undefined, {
      'WWW-Authenticate': 'ReuseID-Device',
    }),
  serviceUnavailable: (detail = 'The service is temporarily unavailable; retry later.') =>
    new ApiError(503, 'service_unavailable', 'Service unavailable', detail, undefined, { 'Retry-After': '5' }),
  internal: () => new ApiError(500, 'internal_error', 'Internal server error', 'An unexpected error occurred; the trace id identifies it in the server logs.'),
};

export interface ErrorObject {
  type: string;
  title: string;
  code: string;
  status: number;
  traceId: string;
  detail: string;
  invalidParams?: InvalidParam[];
}

export function toErrorObject(error: ApiError, traceId: string): ErrorObject {
  return {
    type: errorTypeUri(error.code),
    title: error.title,
    code: error.code,
    status: error.status,
    traceId,
    detail: error.detail,
    ...(error.invalidParams ? { invalidParams: error.invalidParams } : {}),
  };
}

/** The error object as a schema, for the OpenAPI document. */
export const ErrorObjectSchema = z.object({
  type: z.string(),
  title: z.string(),
  code: z.string(),
  status: z.number(),
  traceId: z.string(),
  detail: z.string(),
  invalidParams: z.array(z.object({ name: z.string(), reason: z.string() })).optional(),
});
