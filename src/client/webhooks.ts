import { createHmac, timingSafeEqual } from 'node:crypto';
import type { EventEnvelope } from '../events/schemas.js';
import { WebhookVerificationError } from './errors.js';

/**
 * Receiving the server's webhooks (Standard Webhooks, symmetric scheme v1): `webhook-signature` holds one or more
 * space-separated `v1,<base64 HMAC-SHA256>` of `${webhook-id}.${webhook-timestamp}.${raw body}`, one per signing
 * secret during a rotation, so any of them matching is enough. A timestamp outside the tolerance is refused, which
 * bounds how long a captured delivery can be replayed; deduplicate on webhook-id (the event id) for the rest.
 */
export type WebhookHeaders = Headers | Record<string, string | readonly string[] | undefined>;

export interface VerifyWebhookOptions {
  /** How far webhook-timestamp may lie from now, either way (default 300 s). */
  toleranceSeconds?: number;
  /** The current time in milliseconds since the epoch (default Date.now()). */
  now?: number;
}

const SECRET_PREFIX = 'whsec_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Verifies a delivery and returns its envelope. Pass the body exactly as received (the raw bytes or their string),
 * not a re-serialised parse: any change breaks the signature.
 */
export function verifyWebhook<T = unknown>(
  headers: WebhookHeaders,
  rawBody: string | Uint8Array,
  secret: string,
  options: VerifyWebhookOptions = {},
): EventEnvelope<T> {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures)
    throw new WebhookVerificationError('webhook_headers_missing', 'webhook-id, webhook-timestamp and webhook-signature are required.');
  checkTimestamp(timestamp, options);
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  const expected = createHmac('sha256', secretKey(secret)).update(`${id}.${timestamp}.`, 'utf8').update(body).digest();
  if (!signatures.split(' ').some((signature) => matches(signature, expected))) {
    throw new WebhookVerificationError('webhook_signature_invalid', 'No v1 signature in webhook-signature matches the secret.');
  }
  try {
    return JSON.parse(body.toString('utf8')) as EventEnvelope<T>;
  } catch {
    throw new WebhookVerificationError('webhook_body_invalid', 'The signed body is not JSON.');
  }
}

function checkTimestamp(timestamp: string, options: VerifyWebhookOptions): void {
  if (!/^\d{1,12}$/.test(timestamp)) throw new WebhookVerificationError('webhook_timestamp_invalid', 'webhook-timestamp must be Unix seconds.');
  const nowSeconds = (options.now ?? Date.now()) / 1000;
  const tolerance = options.toleranceSeconds ?? 300;
  if (Math.abs(nowSeconds - Number(timestamp)) > tolerance) {
    throw new WebhookVerificationError('webhook_timestamp_out_of_tolerance', `webhook-timestamp is more than ${tolerance} s away from now.`);
  }
}

/** A misconfigured secret is the receiver's bug, not a bad delivery: it is a TypeError, not a verification failure. */
function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!BASE64.test(encoded)) throw new TypeError('The webhook secret must be whsec_ followed by base64, as the server showed it.');
  return Buffer.from(encoded, 'base64');
}

function matches(signature: string, expected: Buffer): boolean {
  const separator = signature.indexOf(',');
  if (separator < 0 || signature.slice(0, separator) !== 'v1') return false;
  const candidate = Buffer.from(signature.slice(separator + 1), 'base64');
  return candidate.length === expected.length && timingSafeEqual(candidate, expected);
}

/** One header value, looked up case-insensitively; a header sent several times is ambiguous and counts as absent. */
function header(headers: WebhookHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  if (typeof value === 'string') return value.trim();
  return value?.length === 1 ? value[0]?.trim() : undefined;
}
