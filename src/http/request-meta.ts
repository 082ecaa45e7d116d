import type { FastifyRequest } from 'fastify';

/** What an audit item records of the request that caused it. */
export interface RequestMeta {
  traceId?: string | null;
  ipAddress?: string | null;
  clientId?: string | null;
}

export const requestMeta = (request: FastifyRequest): RequestMeta => ({
  traceId: request.id,
  ipAddress: request.ip,
  clientId: request.principal?.clientId ?? null,
});
