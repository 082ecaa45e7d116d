import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { Permission } from '../oauth/permissions.js';
import { TokenRejected, type Principal } from '../oauth/tokens.js';
import { errors } from '../shared/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The bearer token's holder, once requirePermission has admitted it; null before (and on unguarded routes). */
    principal: Principal | null;
  }
}

/** Verifies a bearer access token (AccessTokens.verify bound to the database): at once when it is remembered. */
export type VerifyToken = (token: string) => Principal | Promise<Principal>;

/** Declares `request.principal` on every request of the app, so each request object keeps one shape. */
export function decoratePrincipal(app: FastifyInstance): void {
  app.decorateRequest('principal', null);
}

/**
 * An onRequest hook that admits only a valid bearer token holding the permission (before any body is read).
 * A callback hook rather than an async one: a remembered token is admitted in the same tick, without the promise and
 * the microtask turns an async hook costs on every request of a busy RP.
 */
export function requirePermission(verifyToken: VerifyToken, permission: Permission) {
  const admit = (request: FastifyRequest, principal: Principal, done: HookHandlerDoneFunction): void => {
    request.principal = principal;
    done(principal.permissions.includes(permission) ? undefined : errors.insufficientPermissions(permission));
  };
  return (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    let verified: Principal | Promise<Principal>;
    try {
      verified = verifyToken(bearerToken(request));
    } catch (error) {
      done(rejection(error));
      return;
    }
    if (!(verified instanceof Promise)) {
      admit(request, verified, done);
      return;
    }
    verified.then(
      (principal) => admit(request, principal, done),
      (error: unknown) => done(rejection(error)),
    );
  };
}

/** RFC 6750 §2.1: the scheme, case-insensitive, then a b64token. No `g` flag, so exec keeps no state between calls. */
const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i;

function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  const match = header ? BEARER.exec(header.trim()) : null;
  if (!match?.[1]) throw errors.invalidToken('A bearer access token is required.');
  return match[1];
}

function rejection(error: unknown): Error {
  if (error instanceof TokenRejected) return errors.invalidToken(`The access token was rejected: ${error.message}.`);
  return error instanceof Error ? error : new Error(String(error));
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('route used without requirePermission');
  return request.principal;
}
