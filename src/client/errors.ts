import type { InvalidParam } from '../shared/errors.js';
import type { ErrorObject } from '../http/errors.js';

/**
 * What the RP client throws for every failed call: the server's error object (contract §4), the token endpoint's
 * RFC 6749 error mapped onto the same fields, or one of the client's own codes when no usable answer came back:
 * `network_error` (status 0: no answer at all), `unexpected_response` (an error status without an error object, as
 * a proxy may send) and `invalid_response` (a success status whose body is not the expected JSON).
 */
export class ReuseIdError extends Error {
  readonly code: string;
  readonly status: number;
  /** The server's trace id (also its X-TRACE-ID header): quote it to the operator to find the request in the logs. */
  readonly traceId: string | undefined;
  readonly title: string;
  readonly detail: string;
  /** One entry per rejected field of a 422 invalid_request_parameter. */
  readonly invalidParams: InvalidParam[] | undefined;

  constructor(
    fields: { code: string; status: number; title: string; detail: string; traceId?: string; invalidParams?: InvalidParam[] },
    options?: { cause?: unknown },
  ) {
    super(`${fields.code} (${fields.status}): ${fields.detail}`, options);
    this.name = 'ReuseIdError';
    this.code = fields.code;
    this.status = fields.status;
    this.traceId = fields.traceId;
    this.title = fields.title;
    this.detail = fields.detail;
    this.invalidParams = fields.invalidParams;
  }
}

/** Why verifyWebhook refused a delivery. Answer the sender 4xx and do not act on the payload. */
export class WebhookVerificationError extends Error {
  constructor(
    readonly code:
      | 'webhook_headers_missing'
      | 'webhook_timestamp_invalid'
      | 'webhook_timestamp_out_of_tolerance'
      | 'webhook_signature_invalid'
      | 'webhook_body_invalid',
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
    this.name = 'WebhookVerificationError';
  }
}

export function networkError(cause: unknown): ReuseIdError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new ReuseIdError({ code: 'network_error', status: 0, title: 'Network error', detail: `No answer from the server: ${reason}` }, { cause });
}

export function invalidResponse(status: number, detail: string, traceId?: string): ReuseIdError {
  return new ReuseIdError({ code: 'invalid_response', status, title: 'Invalid response', detail, ...(traceId ? { traceId } : {}) });
}

/** Reads a non-2xx answer: the Signicat error object, an RFC 6749 token error, or neither (a proxy's page). */
export async function errorFromResponse(response: Response): Promise<ReuseIdError> {
  const headerTraceId = response.headers.get('x-trace-id') ?? undefined;
  const body = parseJson(await response.text().catch(() => ''));
  const traceId = (isRecord(body) && typeof body.traceId === 'string' ? body.traceId : undefined) ?? headerTraceId;
  const withTrace = traceId ? { traceId } : {};
  if (isErrorObject(body)) {
    return new ReuseIdError({
      code: body.code,
      status: response.status,
      title: body.title,
      detail: body.detail,
      ...withTrace,
      ...(body.invalidParams ? { invalidParams: body.invalidParams } : {}),
    });
  }
  if (isRecord(body) && typeof body.error === 'string') {
    const detail = typeof body.error_description === 'string' ? body.error_description : body.error;
    return new ReuseIdError({ code: body.error, status: response.status, title: body.error, detail, ...withTrace });
  }
  return new ReuseIdError({
    code: 'unexpected_response',
    status: response.status,
    title: 'Unexpected response',
    detail: `The server answered ${response.status} without an error object.`,
    ...withTrace,
  });
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isErrorObject(value: unknown): value is Pick<ErrorObject, 'code' | 'title' | 'detail' | 'invalidParams'> {
  if (!isRecord(value) || typeof value.code !== 'string' || typeof value.title !== 'string' || typeof value.detail !== 'string') return false;
  return value.invalidParams === undefined || (Array.isArray(value.invalidParams) && value.invalidParams.every(isInvalidParam));
}

function isInvalidParam(value: unknown): value is InvalidParam {
  return isRecord(value) && typeof value.name === 'string' && typeof value.reason === 'string';
}
