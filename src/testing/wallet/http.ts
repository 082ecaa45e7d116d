import { WalletError } from './errors.js';

/** The fetch the wallet uses; tests inject their own. */
export type Fetch = typeof fetch;

const TIMEOUT_MS = 10_000;
/** Metadata, tokens and credentials are a few kilobytes; a status list a few hundred. Anything larger is refused. */
const MAX_BODY_CHARS = 2_000_000;
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * An issuer, endpoint or status list URL: https, or http to this machine only (a development server). OpenID4VCI
 * §12.2.1 and the SD-JWT VC issuer metadata both require https; a wallet that followed http elsewhere would let anyone
 * on the path swap the keys it trusts.
 */
export function checkUrl(value: string, what: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new WalletError('invalid_url', `${what} is not a URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname)))
    throw new WalletError('invalid_url', `${what} must be an https URL (http only to this machine): ${value}`);
  return value;
}

/** An issuer identifier (OpenID4VCI §12.2.1, RFC 8414 §2): such a URL, without query or fragment. */
export function checkIdentifier(value: string, what: string): string {
  const url = new URL(checkUrl(value, what));
  if (url.search !== '' || url.hash !== '') throw new WalletError('invalid_url', `${what} must have no query or fragment: ${value}`);
  return value;
}

/**
 * The well-known location of an identifier's metadata (RFC 8615, as OpenID4VCI §12.2.2, RFC 8414 §3.1 and SD-JWT VC
 * §5 use it): `/.well-known/NAME` goes between the host and the path, so `https://h/tenant` → `https://h/.well-known/NAME/tenant`.
 * For an identifier without a path this is simply `{identifier}/.well-known/NAME`.
 */
export function wellKnownUrl(identifier: string, name: string): string {
  const url = new URL(identifier);
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.origin}/.well-known/${name}${path}`;
}

export interface HttpAnswer {
  status: number;
  contentType: string;
  text: string;
}

/** One request with a timeout; a network failure becomes `unreachable`, naming what was being fetched. */
export async function send(fetchImpl: Fetch, url: string, init: RequestInit, what: string): Promise<HttpAnswer> {
  let response: Response;
  try {
    response = await fetchImpl(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    const cause = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
    throw new WalletError('unreachable', `${what}: could not reach ${url} (${cause})`);
  }
  const text = await response.text();
  if (text.length > MAX_BODY_CHARS) throw new WalletError('invalid_response', `${what}: the answer from ${url} is too large`);
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text };
}

/**
 * The JSON body of a successful answer. A failed one becomes a WalletError carrying the endpoint's own `error` code
 * (the OAuth error object, `{error, error_description}`), or `http_error` when it sent none.
 */
export function jsonBody(answer: HttpAnswer, what: string, expected: number[] = [200]): unknown {
  const body = parseJson(answer);
  if (!expected.includes(answer.status)) throw endpointError(answer.status, body, what);
  if (body === undefined || !/^application\/([\w.+-]+\+)?json\b/i.test(answer.contentType))
    throw new WalletError('invalid_response', `${what}: expected JSON, got HTTP ${answer.status} ${answer.contentType || 'without a content type'}`);
  return body;
}

function parseJson(answer: HttpAnswer): unknown {
  try {
    return JSON.parse(answer.text) as unknown;
  } catch {
    return undefined;
  }
}

function endpointError(status: number, body: unknown, what: string): WalletError {
  if (body !== null && typeof body === 'object' && 'error' in body && typeof body.error === 'string' && /^[\w.-]{1,64}$/.test(body.error)) {
    const description = 'error_description' in body && typeof body.error_description === 'string' ? `: ${body.error_description.slice(0, 500)}` : '';
    return new WalletError(body.error, `${what} refused (HTTP ${status}, ${body.error})${description}`, what);
  }
  return new WalletError('http_error', `${what} answered HTTP ${status}`, what);
}
