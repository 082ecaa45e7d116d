import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { principalOf, requirePermission } from '../http/auth.js';
import { ErrorObjectSchema } from '../http/errors.js';
import { AuditQueries, findAuditItem } from './query.js';
import { AuditItemSchema, AuditPageSchema, AuditQueryBody } from './schemas.js';

const security = [{ oauth2: ['audit'] }];
const tags = ['Audit'];
const errorResponses = { 401: ErrorObjectSchema, 403: ErrorObjectSchema, 404: ErrorObjectSchema, 422: ErrorObjectSchema };

/** The audit log of the caller's account (permission `audit`). */
export async function auditRoutes(base: FastifyInstance, ctx: Pick<AppContext, 'verifyToken' | 'cipher' | 'config' | 'clock' | 'db'>): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', requirePermission(ctx.verifyToken, 'audit'));
  const queries = new AuditQueries({ cipher: ctx.cipher, baseUrl: ctx.config.publicUrl, now: () => ctx.clock.now() });

  app.post(
    '/audit/query',
    {
      schema: {
        tags,
        security,
        summary: 'Query audit items, newest first',
        operationId: 'queryAuditItems',
        description:
          'Signicat query body. Fields: eventType, clientId, userId, referenceId, traceId; operators eq (string) and in ' +
          '(array). `to` defaults to now, `from` to 30 days before `to`; the span is at most 60 days; `limit` at most 1000 ' +
          '(default). Continue with a POST to `next` (body not needed) until it is null; never build a cursor yourself. ' +
          'Items appear once chained, about a second after the change they record.',
        querystring: z.strictObject({ cursor: z.string().max(8192).optional() }),
        // A POST to `next` may come without a body (Fastify then passes null).
        body: AuditQueryBody.nullish(),
        response: { 200: AuditPageSchema, ...errorResponses },
      },
    },
    async (request) => queries.query(ctx.db, principalOf(request).accountId, request.body ?? {}, request.query.cursor),
  );

  app.get(
    '/audit/items/:cursor',
    {
      schema: {
        tags,
        security,
        summary: 'Get one audit item',
        operationId: 'getAuditItem',
        params: z.object({ cursor: z.string().max(100) }),
        response: { 200: AuditItemSchema, ...errorResponses },
      },
    },
    async (request) => findAuditItem(ctx.db, principalOf(request).accountId, request.params.cursor),
  );
}
