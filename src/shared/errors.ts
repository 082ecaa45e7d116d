// biome-ignore format: a table, one code a line, kept whole however long its description
/**
 * The error catalogue: every code a client can receive, with its HTTP status, its title and when it happens.
 * Errors are values with stable codes. Every error that reaches the wire is an ApiError (or is turned into one by
 * the HTTP error handler) and is served as the Signicat error object (contract §4, src/http/errors.ts). The API
 * table in docs/errors.md is generated from this object (`npx tsx scripts/errors-doc.ts --write`), so a code
 * exists for clients exactly when it is listed here.
 */
export const ERROR_CATALOGUE = {
  invalid_request: { status: 400, title: 'Invalid request', description: 'The body is not valid JSON, the URL is not validly percent-encoded, the request is not valid HTTP, or it cannot be processed as sent.' },
  invalid_idempotency_key: { status: 400, title: 'Invalid Idempotency-Key', description: 'The `Idempotency-Key` header is not 1–255 visible ASCII characters.' },
  invalid_activation_code: { status: 400, title: 'Invalid activation code', description: 'The activation code is unknown, already used or expired (one answer for all three).' },
  invalid_token: { status: 401, title: 'Invalid authentication token', description: 'The bearer token is missing, malformed, forged, expired, or from another issuer or audience.' },
  invalid_device_signature: { status: 401, title: 'Device authentication failed', description: "A device request's signature is missing, invalid, stale, replayed, or the device is not active." },
  insufficient_permissions: { status: 403, title: 'Insufficient permissions', description: 'The API client lacks the permission the endpoint needs.' },
  not_found: { status: 404, title: 'Not found', description: 'No such route.' },
  transaction_not_found: { status: 404, title: 'Transaction not found', description: "No such transaction in this account (another account's is answered the same)." },
  user_entity_does_not_exist: { status: 404, title: 'User entity does not exist', description: 'No such user in this account.' },
  device_not_found: { status: 404, title: 'Device not found', description: 'No such device registered to that user in this account.' },
  operation_not_found: { status: 404, title: 'Operation not found', description: 'No such pending operation for this device.' },
  subscription_not_found: { status: 404, title: 'Subscription not found', description: 'No such webhook subscription in this account.' },
  delivery_not_found: { status: 404, title: 'Delivery not found', description: 'No such webhook delivery in this account.' },
  audit_item_not_found: { status: 404, title: 'Audit item not found', description: 'No audit item at that cursor in this account.' },
  case_not_found: { status: 404, title: 'Case not found', description: 'No such video identification review case.' },
  device_not_active: { status: 409, title: 'Device is not active', description: 'The device is locked or deactivated.' },
  device_deactivated: { status: 409, title: 'Device is deactivated', description: 'A deactivated device cannot be reactivated.' },
  device_key_in_use: { status: 409, title: 'Device key already registered', description: 'The device key is already registered.' },
  operation_not_pending: { status: 409, title: 'Operation is not pending', description: 'The operation was already decided, has expired, or its transaction ended.' },
  transaction_not_pending: { status: 409, title: 'Transaction is not awaiting proofing', description: 'The transaction has already ended or its proofing was decided.' },
  user_not_enrolled: { status: 409, title: 'User not enrolled', description: 'The user has no verified identity yet (no onboarding completed), so a step-up has nothing to bind to; complete an onboarding first.' },
  credential_not_issuable: { status: 409, title: 'Credential not issuable', description: "The user's verified identity cannot be issued as a credential: the proofing that verified it is below the issuer's minimum assurance level or was deleted by retention (a step-up renews it), or the document has expired." },
  provider_mismatch: { status: 409, title: 'Provider mismatch', description: "The transaction uses another proofing provider than the endpoint's." },
  proofing_not_expected: { status: 409, title: 'No proofing expected', description: 'A document upload arrived while the transaction is not waiting for proofing: it has ended or expired.' },
  concurrent_upload: { status: 409, title: 'Concurrent upload', description: 'Another upload for the same transaction was recorded meanwhile; fetch the transaction and try again.' },
  document_bound_to_other_user: { status: 409, title: 'Document bound to another user', description: 'The document was bound to another user while the upload was checked; submit again for a decision.' },
  capture_not_expected: { status: 409, title: 'No capture expected', description: 'A video capture arrived while the transaction is under review, has ended, or has expired.' },
  case_not_available: { status: 409, title: 'Case not available', description: "The review case is claimed by another agent, the agent's claim has expired, or it was already decided." },
  subscription_limit_reached: { status: 409, title: 'Subscription limit reached', description: 'The account already holds the maximum number of webhook subscriptions.' },
  subscription_disabled: { status: 409, title: 'Subscription disabled', description: "The delivery's webhook subscription is disabled; enable it first." },
  delivery_in_progress: { status: 409, title: 'Delivery in progress', description: 'An attempt of the delivery is being sent right now; retry when it has finished.' },
  idempotency_request_in_progress: { status: 409, title: 'Request in progress', description: 'A request with the same `Idempotency-Key` is still being processed; retry after `Retry-After`.' },
  method_not_allowed: { status: 405, title: 'Method not allowed', description: 'The path exists but not with this method; `Allow` lists its methods.' },
  request_timeout: { status: 408, title: 'Request timeout', description: 'The request was not received in time.' },
  payload_too_large: { status: 413, title: 'Payload too large', description: "The body exceeds the endpoint's limit." },
  uri_too_long: { status: 414, title: 'URI too long', description: "A path segment is longer than 500 characters (longer than any identifier; up to 500, the field's own limit answers 422)." },
  unsupported_media_type: { status: 415, title: 'Unsupported media type', description: 'The endpoint does not accept that content type.' },
  invalid_request_parameter: { status: 422, title: 'Invalid request parameter', description: 'Validation failed: `invalidParams` has one `{name, reason}` per bad field.' },
  export_too_large: { status: 422, title: 'Export too large', description: "The user's evidence exceeds what one export with `include=evidence` carries (64 MiB); export without it." },
  idempotency_key_reused: { status: 422, title: 'Idempotency-Key reused', description: 'The `Idempotency-Key` was already used with a different request.' },
  too_many_requests: { status: 429, title: 'Too many requests', description: 'A rate or failure bound was hit; `Retry-After` says when to retry.' },
  request_headers_too_large: { status: 431, title: 'Request headers too large', description: "The request headers exceed the server's size limit." },
  internal_error: { status: 500, title: 'Internal server error', description: 'An unexpected failure; the trace id finds it in the server logs.' },
  service_unavailable: { status: 503, title: 'Service unavailable', description: 'The database is unreachable or the server is shutting down; retry after `Retry-After`.' },
  face_matcher_busy: { status: 503, title: 'Face matcher busy', description: 'Every face worker is busy and the queue of face comparisons is full; retry after `Retry-After`.' },
  face_match_timeout: { status: 503, title: 'Face match timed out', description: 'A face comparison did not finish within its time limit; retry after `Retry-After`.' },
} as const satisfies Record<string, { status: number; title: string; description: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface InvalidParam {
  name: string;
  reason: string;
}

export interface ApiErrorExtras {
  invalidParams?: InvalidParam[];
  headers?: Record<string, string>;
}

/**
 * An error with a catalogued code: its status and title are looked up in the catalogue, so a code cannot reach
 * the wire with another status or title. Raise one with apiError() or a factory of `errors`.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly invalidParams?: InvalidParam[];
  readonly headers: Record<string, string>;

  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    extras: ApiErrorExtras = {},
  ) {
    super(detail);
    this.name = 'ApiError';
    this.status = ERROR_CATALOGUE[code].status;
    this.title = ERROR_CATALOGUE[code].title;
    this.headers = extras.headers ?? {};
    if (extras.invalidParams) this.invalidParams = extras.invalidParams;
  }
}

/**
 * A 4xx the HTTP framework raised for a reason no other code covers: answered as invalid_request, but with the
 * framework's own status, which says more than a blanket 400.
 */
class FrameworkRejection extends ApiError {
  override readonly status: number;

  constructor(status: number) {
    super('invalid_request', 'The request could not be processed.');
    this.status = status;
  }
}

/** The one way to raise a catalogued error. */
export const apiError = (code: ErrorCode, detail: string, extras?: ApiErrorExtras): ApiError => new ApiError(code, detail, extras);

const retryAfter = (seconds: number) => ({ 'Retry-After': String(Math.max(1, Math.ceil(seconds))) });

/** Errors raised in many places, with their usual detail and the headers their status calls for. */
export const errors = {
  invalidRequest: (detail: string) => apiError('invalid_request', detail),
  invalidParameters: (invalidParams: InvalidParam[], detail = 'Your request parameters have failed validation.') =>
    apiError('invalid_request_parameter', detail, { invalidParams }),
  invalidToken: (detail = 'The access token is missing, invalid or expired.') =>
    apiError('invalid_token', detail, { headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } }),
  insufficientPermissions: (permission: string) => apiError('insufficient_permissions', `The API client lacks the '${permission}' permission.`),
  transactionNotFound: (id: string) => apiError('transaction_not_found', `No transaction with ID ${id} exists for this account.`),
  userNotFound: (id: string) => apiError('user_entity_does_not_exist', `No user with ID ${id} exists for this account.`),
  deviceNotFound: (detail: string) => apiError('device_not_found', detail),
  routeNotFound: (method: string, url: string) => apiError('not_found', `No route ${method} ${url.split('?')[0]}.`),
  methodNotAllowed: (method: string, url: string, allowed: string[]) =>
    apiError('method_not_allowed', `${url.split('?')[0]} does not answer ${method}; it answers ${allowed.join(', ')}.`, {
      headers: { Allow: allowed.join(', ') },
    }),
  requestTimeout: () => apiError('request_timeout', 'The request was not received in time.'),
  uriTooLong: () => apiError('uri_too_long', 'A path segment of the URL is longer than any identifier this API uses.'),
  requestHeadersTooLarge: () => apiError('request_headers_too_large', 'The request headers exceed the size limit.'),
  unsupportedMediaType: (detail: string) => apiError('unsupported_media_type', detail),
  payloadTooLarge: (detail: string) => apiError('payload_too_large', detail),
  tooManyRequests: (retryAfterSeconds: number, detail = 'Too many requests; retry later.') =>
    apiError('too_many_requests', detail, { headers: retryAfter(retryAfterSeconds) }),
  deviceUnauthenticated: (detail: string) => apiError('invalid_device_signature', detail, { headers: { 'WWW-Authenticate': 'ReuseID-Device' } }),
  serviceUnavailable: (detail = 'The service is temporarily unavailable; retry later.') => apiError('service_unavailable', detail, { headers: retryAfter(5) }),
  faceMatcherBusy: (retryAfterSeconds: number) =>
    apiError('face_matcher_busy', 'Too many face comparisons are in progress; retry later.', { headers: retryAfter(retryAfterSeconds) }),
  faceMatchTimeout: () => apiError('face_match_timeout', 'The face comparison took too long; retry later.', { headers: retryAfter(5) }),
  frameworkRejection: (status: number): ApiError => new FrameworkRejection(status),
  internal: () => apiError('internal_error', 'An unexpected error occurred; the trace id identifies it in the server logs.'),
};
