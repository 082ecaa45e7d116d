import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errors } from '../shared/errors.js';

/**
 * One rule for request bodies on the JSON API, installed at the root so every route inherits it:
 *
 * - `application/json` is the only JSON media type. Parameters are allowed, but a charset other than UTF-8 is refused
 *   (RFC 8259 §8.1). Structured-syntax types (`application/*+json`, such as merge-patch or problem+json) are refused:
 *   they carry semantics this API does not implement, so accepting them would only hide a client's mistake.
 * - An empty body is no body, whatever the Content-Type says: the route's body schema decides, and one that requires
 *   an object answers 422 invalid_request_parameter naming `body` (as when there is no Content-Type at all).
 * - A non-empty body of any other type (text/plain holding JSON included) → 415 unsupported_media_type.
 *
 * The token endpoint and the console read form bodies with parsers of their own scope; the device API keeps the raw
 * JSON bytes (its signatures cover them) through `parseJsonBody` with `keepRawBody`.
 */
export function installBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parseJsonBody(app, { keepRawBody: false }));
  app.addContentTypeParser('*', refuseUnlessEmpty);
}

type ParserDone = (error: Error | null, body?: unknown) => void;

/** The JSON parser of the rule above; `keepRawBody` also keeps the exact bytes on `request.rawBody`. */
export function parseJsonBody(app: FastifyInstance, options: { keepRawBody: boolean }) {
  // Fastify's own parser: refuses __proto__ and constructor.prototype keys (prototype poisoning).
  const parse = app.getDefaultJsonParser('error', 'error');
  return (request: FastifyRequest, body: Buffer | string, done: ParserDone): void => {
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
    if (options.keepRawBody) request.rawBody = bytes;
    if (bytes.length === 0) done(null, undefined);
    else if (!isUtf8Charset(request.headers['content-type'])) done(errors.unsupportedMediaType('JSON bodies must be UTF-8.'));
    // No field holds a NUL character, and PostgreSQL text cannot store one: refused here rather than failing deep down.
    else if (bytes.includes('\\u0000')) done(errors.invalidRequest('The body holds a NUL character (\\u0000), which no field may hold.'));
    else parse(request, bytes.toString('utf8'), done);
  };
}

/** Whether a Content-Type names no charset or UTF-8 (RFC 8259 §8.1). */
export function isUtf8Charset(contentType: string | undefined): boolean {
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(contentType ?? '')?.[1];
  return charset === undefined || charset.toLowerCase() === 'utf-8';
}

/** Any other media type: nothing to parse when the body is empty, 415 as soon as a byte arrives. */
function refuseUnlessEmpty(_request: FastifyRequest, payload: Readable, done: ParserDone): void {
  let settled = false;
  const settle = (error: Error | null) => {
    if (settled) return;
    settled = true;
    done(error, undefined);
  };
  payload.on('data', () => settle(errors.unsupportedMediaType('This endpoint accepts application/json bodies only.')));
  payload.on('end', () => settle(null));
  payload.on('error', settle);
}
