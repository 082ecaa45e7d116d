import { z } from 'zod';
import { EventNameSchema } from './catalogue.js';
import { MAX_URL_LENGTH } from './ssrf.js';

/** Request and response shapes of the events API, shared by the routes (validation, OpenAPI), the CLI and the RP client. */
const EventNames = z.array(EventNameSchema).max(50).nullable().describe('Only these events are delivered; null or absent: every event.');
const Url = z
  .string()
  .min(1)
  .max(MAX_URL_LENGTH)
  .describe(
    'The receiver. Must be https and resolve only to public addresses (checked at creation and again at every send, ' +
      'connecting to the checked address). REUSEID_WEBHOOK_ALLOW_PRIVATE=true also admits http and private or loopback ' +
      'addresses, for tests and local demos.',
  );
const Name = z.string().trim().min(1).max(200);

export const SubscriptionCreateBody = z.strictObject({ name: Name, url: Url, eventNames: EventNames.optional() });
export const SubscriptionPatchBody = z.strictObject({
  name: Name.optional(),
  url: Url.optional(),
  eventNames: EventNames.optional(),
  enabled: z.boolean().optional().describe('false stops deliveries (pending ones wait, within their retry window); true resumes them.'),
});

export const SubscriptionSchema = z.object({
  id: z.string(),
  name: z.string(),
  url: z.string(),
  eventNames: z.array(z.string()).nullable(),
  enabled: z.boolean(),
  disabledReason: z.string().nullable().describe('disabled_by_client, or gone when the receiver answered 410 Gone.'),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const SubscriptionListSchema = z.object({ items: z.array(SubscriptionSchema) });
export const SubscriptionWithSecretSchema = SubscriptionSchema.extend({
  secret: z.string().describe('The signing secret (whsec_…), shown only here: store it now.'),
});

export const DeliverySchema = z.object({
  id: z.string(),
  eventId: z.string().describe('Also the webhook-id header of every attempt.'),
  eventName: z.string(),
  subscriptionId: z.string(),
  status: z.enum(['pending', 'succeeded', 'failed']),
  attemptCount: z.number(),
  nextAttemptAt: z.string().nullable(),
  lastStatusCode: z.number().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const DeliveryDetailSchema = DeliverySchema.extend({
  attempts: z.array(
    z.object({ attempt: z.number(), startedAt: z.string(), durationMs: z.number(), statusCode: z.number().nullable(), error: z.string().nullable() }),
  ),
});
export const DeliveryListSchema = z.object({ items: z.array(DeliverySchema) });

export const DeliveryListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  before: z.string().max(100).optional().describe('A delivery id: the page continues with older deliveries.'),
});

/** What every webhook delivers (the Signicat event envelope); `eventData` depends on `eventName`. */
export interface EventEnvelope<T = unknown> {
  id: string;
  timestamp: string;
  sender: 'reuseid';
  eventName: string;
  eventData: T;
  accountId: string;
  organizationId: string | null;
  expiresAt: string;
  tags: string[];
}
