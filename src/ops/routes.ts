import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { errors } from '../shared/errors.js';
import { sendError } from '../http/errors-plugin.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Set when shutdown begins: readiness fails so the load balancer stops routing here. */
    draining: boolean;
  }
}

/**
 * Liveness (the process answers) and readiness (not shutting down, and the database answers within a bound).
 * Readiness also says whether sandbox mode is on, so that monitoring can alarm on a sandbox in the wrong place.
 */
export async function operationsRoutes(app: FastifyInstance, ctx: Pick<AppContext, 'store' | 'config'>): Promise<void> {
  app.get('/healthz', { schema: { hide: true }, logLevel: 'warn' }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true }, logLevel: 'warn' }, async (request, reply) => {
    if (app.draining) return sendError(request, reply, errors.serviceUnavailable('The server is shutting down.'));
    try {
      await withTimeout(ctx.store.ping(), 2000);
      return { status: 'ready', database: ctx.store.dialect, sandbox: ctx.config.sandbox };
    } catch {
      return sendError(request, reply, errors.serviceUnavailable('The database is not reachable.'));
    }
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
