import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ApiError, errors, type InvalidParam } from '../shared/errors.js';
import { toErrorObject } from './errors.js';
import { recordRouteMethods } from './route-methods.js';

/** Maps every failure to the Signicat error object and puts X-TRACE-ID on every response. */
export function installErrorHandling(app: FastifyInstance): void {
  // A callback hook, not an async one: it runs on every request, and nothing in it waits.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('X-TRACE-ID', request.id);
    // No identifier or parameter holds a NUL character, and PostgreSQL text cannot store one: every route refuses it
    // here, before a lookup would fail in the database with a 500.
    if (request.url.includes('%00')) return done(errors.invalidRequest('The URL holds a NUL character (%00), which no identifier or parameter may hold.'));
    done();
  });
  recordRouteMethods(app);

  app.setNotFoundHandler((request, reply) => {
    const allowed = app.allowedMethods(request.url);
    return sendError(
      request,
      reply,
      allowed.length ? errors.methodNotAllowed(request.method, request.url, allowed) : errors.routeNotFound(request.method, request.url),
    );
  });

  app.setErrorHandler(answerError);
}

function answerError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const apiError = toApiError(error);
  if (apiError.status >= 500) request.log.error({ err: error }, 'request failed');
  return sendError(request, reply, apiError);
}

/**
 * Fastify's `frameworkErrors` option: failures of the router before any hook runs (a URL that is not validly
 * percent-encoded, a path parameter longer than the router takes) get the error object too, not Fastify's own body.
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      return sendError(request, reply, errors.invalidRequest('The URL is not validly percent-encoded.'));
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return sendError(request, reply, errors.uriTooLong());
    default:
      return answerError(error, request, reply);
  }
}

/**
 * Fastify's `clientErrorHandler` option: Node's HTTP parser refused the request (a request line with spaces or
 * control characters, headers over the size limit, a request that never finished) before a request object exists.
 * The answer is written to the socket directly, still as the error object with a fresh trace id.
 */
export function answerClientError(newTraceId: () => string) {
  return (error: ConnectionError, socket: Socket): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    if (socket.writable) {
      const apiError = clientErrorOf(error);
      const traceId = newTraceId();
      const body = JSON.stringify(toErrorObject(apiError, traceId));
      socket.write(
        `HTTP/1.1 ${apiError.status} ${STATUS_CODES[apiError.status]}\r\nX-TRACE-ID: ${traceId}\r\nContent-Type: application/problem+json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(error);
  };
}

function clientErrorOf(error: ConnectionError): ApiError {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return errors.requestTimeout();
  if (error.code === 'HPE_HEADER_OVERFLOW') return errors.requestHeadersTooLarge();
  return errors.invalidRequest('The request is not valid HTTP (a malformed request line or header).');
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: ApiError): FastifyReply {
  // Also set here: framework errors are answered before the onRequest hook runs.
  reply.header('X-TRACE-ID', request.id);
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return reply.status(error.status).type('application/problem+json').send(toErrorObject(error, request.id));
}

function toApiError(error: FastifyError): ApiError {
  if (error instanceof ApiError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) return errors.invalidParameters(validationToParams(error.validation));
  if (isDatabaseUnavailable(error)) return errors.serviceUnavailable();
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.payloadTooLarge('The request body is larger than this endpoint accepts.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.unsupportedMediaType('This endpoint does not accept that Content-Type.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return errors.invalidRequest('The request body is not valid JSON.');
  }
  if (error.statusCode === 400 && error.validation) {
    return errors.invalidParameters(error.validation.map((v) => ({ name: pathName(v.instancePath) || 'request', reason: v.message ?? 'invalid' })));
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return errors.frameworkRejection(error.statusCode);
  }
  return errors.internal();
}

type ValidationIssue = { instancePath: string; message?: string; keyword?: string; params?: Record<string, unknown> };

/** One entry per bad field, named by its dotted path; unknown fields are named one by one. */
export function validationToParams(issues: ValidationIssue[]): InvalidParam[] {
  const params: InvalidParam[] = [];
  for (const issue of issues) {
    const base = pathName(issue.instancePath);
    const keys = issue.keyword === 'unrecognized_keys' ? (issue.params?.keys as string[] | undefined) : undefined;
    if (keys?.length) {
      for (const key of keys) params.push({ name: base ? `${base}.${key}` : key, reason: 'unknown field' });
      continue;
    }
    const name = base || 'body';
    if (!params.some((p) => p.name === name)) params.push({ name, reason: issue.message ?? 'invalid value' });
  }
  return params;
}

function pathName(instancePath: string): string {
  return instancePath.replace(/^\//, '').split('/').filter(Boolean).join('.');
}

/** Connection-level database failures (PostgreSQL down or restarting) answer 503 rather than 500. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  if (!e) return false;
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08006', '08001', '08003', '08004', 'SQLITE_BUSY'].includes(e.code ?? ''))
    return true;
  return /Connection terminated|timeout exceeded when trying to connect|is not queryable|the database system is (starting up|shutting down|in recovery mode)/i.test(
    e.message ?? '',
  );
}
