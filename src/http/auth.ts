import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Permission } from '../oauth/permissions.js';
import { TokenRejected, type Principal } from '../oauth/tokens.js';
import { errors } from '../shared/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The bearer token's holder, once requirePermission has admitted it; null before (and on unguarded routes). */
    principal: Principal | null;
  }
}

/** Verifies a bearer access token (AccessTokens.verify bound to the database). */
export type VerifyToken = (token: string) => Promise<Principal>;

/** Declares `request.principal` on every request of the app, so each request object keeps one shape. */
export function decoratePrincipal(app: FastifyInstance): void {
  app.decorateRequest('principal', null);
}

/** An onRequest hook that admits only a valid bearer token holding the permission (before any body is read). */
export function requirePermission(verifyToken: VerifyToken, permission: Permission) {
  return async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    const match = header ? /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header.trim()) : null;
    if (!match?.[1]) throw errors.invalidToken('A bearer access token is required.');
    try {
      request.principal = await verifyToken(match[1]);
    } catch (error) {
      if (error instanceof TokenRejected) throw errors.invalidToken(`The access token was rejected: ${error.message}.`);
      throw error;
    }
    if (!request.principal.permissions.includes(permission)) throw errors.insufficientPermissions(permission);
  };
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('route used without requirePermission');
  return request.principal;
}
