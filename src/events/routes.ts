import type { FastifyInstance, FastifySchema } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { requestMeta } from '../http/request-meta.js';
import { principalOf, requirePermission } from '../http/auth.js';
import { ErrorObjectSchema } from '../http/errors.js';
import {
  DeliveryDetailSchema,
  DeliveryListQuery,
  DeliveryListSchema,
  DeliverySchema,
  SubscriptionCreateBody,
  SubscriptionListSchema,
  SubscriptionPatchBody,
  SubscriptionSchema,
  SubscriptionWithSecretSchema,
} from './schemas.js';

const SubscriptionParams = z.object({ id: z.string().max(100) });
const DeliveryParams = z.object({ deliveryId: z.string().max(100) });
const security = [{ oauth2: ['events'] }];
const tags = ['Events'];
const errorResponses = { 401: ErrorObjectSchema, 403: ErrorObjectSchema, 404: ErrorObjectSchema, 409: ErrorObjectSchema, 422: ErrorObjectSchema };

const SIGNING_NOTE =
  'Deliveries are signed per Standard Webhooks: webhook-id (the event id, the same on every retry), webhook-timestamp ' +
  '(this attempt, Unix seconds) and webhook-signature (`v1,<base64 HMAC-SHA256>` of `id.timestamp.body`; during a ' +
  'secret rotation overlap one signature per secret, space-separated). Retries back off (5 s … 24 h, with jitter) until ' +
  "the event's expiresAt and honour Retry-After; 410 Gone disables the subscription; redirects are not followed.";

/** What the OpenAPI document says of each operation, kept apart from the wiring below so that each route reads in one line. */
const OPERATIONS = {
  createSubscription: { summary: 'Create a webhook subscription', description: SIGNING_NOTE },
  listSubscriptions: { summary: 'List webhook subscriptions' },
  getSubscription: { summary: 'Get a webhook subscription' },
  updateSubscription: { summary: 'Update, enable or disable a webhook subscription' },
  deleteSubscription: { summary: 'Delete a webhook subscription and its delivery log' },
  rotateSubscriptionSecret: {
    summary: 'Rotate the signing secret',
    description:
      'Returns the new secret. The previous one keeps signing beside it for REUSEID_WEBHOOK_SECRET_OVERLAP_SECONDS (default 24 h), so receivers can switch without losing events. Rotating again during the overlap retires the oldest secret at once.',
  },
  sendTestEvent: {
    summary: 'Send a test event',
    description: 'Queues a `webhook.test` event (tags ["mock"]) for this subscription only; follow it in the delivery log.',
  },
  listDeliveries: { summary: 'List deliveries of a subscription, newest first' },
  getDelivery: { summary: 'Get a delivery with its attempts' },
  redeliver: { summary: 'Send a delivery again', description: 'Same webhook-id as before; on failure it is retried for at least an hour.' },
} as const;

/** A route's OpenAPI schema: every events route shares its tag, its permission and its error answers, and adds the rest. */
const documented = <Schema extends FastifySchema & { response: Record<number, z.ZodType> }>(operationId: keyof typeof OPERATIONS, schema: Schema) => ({
  schema: { tags, security, operationId, ...OPERATIONS[operationId], ...schema, response: { ...schema.response, ...errorResponses } },
});

/** Webhook subscriptions and their delivery log (permission `events`). Other accounts' resources answer 404. */
export async function eventsRoutes(base: FastifyInstance, ctx: Pick<AppContext, 'verifyToken' | 'webhooks'>): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', requirePermission(ctx.verifyToken, 'events'));
  const account = (request: Parameters<typeof principalOf>[0]) => principalOf(request).accountId;

  app.post(
    '/events/subscriptions',
    documented('createSubscription', { body: SubscriptionCreateBody, response: { 201: SubscriptionWithSecretSchema } }),
    async (request, reply) => reply.status(201).send(await ctx.webhooks.subscriptions.create(account(request), request.body, requestMeta(request))),
  );
  app.get('/events/subscriptions', documented('listSubscriptions', { response: { 200: SubscriptionListSchema } }), async (request) => ({
    items: await ctx.webhooks.subscriptions.list(account(request)),
  }));
  app.get('/events/subscriptions/:id', documented('getSubscription', { params: SubscriptionParams, response: { 200: SubscriptionSchema } }), async (request) =>
    ctx.webhooks.subscriptions.get(account(request), request.params.id),
  );
  app.patch(
    '/events/subscriptions/:id',
    documented('updateSubscription', { params: SubscriptionParams, body: SubscriptionPatchBody, response: { 200: SubscriptionSchema } }),
    async (request) => ctx.webhooks.subscriptions.update(account(request), request.params.id, request.body, requestMeta(request)),
  );
  app.delete(
    '/events/subscriptions/:id',
    documented('deleteSubscription', { params: SubscriptionParams, response: { 204: z.null() } }),
    async (request, reply) => {
      await ctx.webhooks.subscriptions.delete(account(request), request.params.id, requestMeta(request));
      return reply.status(204).send(null);
    },
  );
  app.post(
    '/events/subscriptions/:id/rotate-secret',
    documented('rotateSubscriptionSecret', { params: SubscriptionParams, response: { 200: SubscriptionWithSecretSchema } }),
    async (request) => ctx.webhooks.subscriptions.rotateSecret(account(request), request.params.id, requestMeta(request)),
  );
  app.post(
    '/events/subscriptions/:id/test',
    documented('sendTestEvent', { params: SubscriptionParams, response: { 202: DeliverySchema } }),
    async (request, reply) => reply.status(202).send(await ctx.webhooks.deliveries.sendTest(account(request), request.params.id)),
  );
  app.get(
    '/events/subscriptions/:id/deliveries',
    documented('listDeliveries', { params: SubscriptionParams, querystring: DeliveryListQuery, response: { 200: DeliveryListSchema } }),
    async (request) => ({ items: await ctx.webhooks.deliveries.list(account(request), request.params.id, request.query) }),
  );
  app.get('/events/deliveries/:deliveryId', documented('getDelivery', { params: DeliveryParams, response: { 200: DeliveryDetailSchema } }), async (request) =>
    ctx.webhooks.deliveries.get(account(request), request.params.deliveryId),
  );
  app.post(
    '/events/deliveries/:deliveryId/redeliver',
    documented('redeliver', { params: DeliveryParams, response: { 202: DeliverySchema } }),
    async (request, reply) => reply.status(202).send(await ctx.webhooks.deliveries.redeliver(account(request), request.params.deliveryId)),
  );
}
