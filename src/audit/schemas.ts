import { z } from 'zod';
import { AUDIT_FIELD_COLUMNS, type AuditQueryField } from './tables.js';

/** Request and response shapes of the audit API, shared by the routes (validation, OpenAPI) and the RP client. */
export const MAX_AUDIT_LIMIT = 1000;

const FIELDS = Object.keys(AUDIT_FIELD_COLUMNS) as [AuditQueryField, ...AuditQueryField[]];
const Value = z.string().max(200);

const Condition = z
  .strictObject({
    field: z.enum(FIELDS),
    operator: z.enum(['eq', 'in']),
    value: z.union([Value, z.array(Value).min(1).max(100)]),
  })
  .refine((c) => (c.operator === 'in') === Array.isArray(c.value), {
    message: "'eq' takes a string value, 'in' a non-empty array of strings",
    path: ['value'],
  });

export const AuditQueryBody = z.strictObject({
  // Bounded so that the query fits into the `next` cursor URL.
  and: z
    .array(Condition)
    .max(20)
    .refine((and) => JSON.stringify(and).length <= 2048, 'the conditions may take at most 2 KiB of JSON')
    .optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.number().int().min(1).max(MAX_AUDIT_LIMIT).optional(),
});

export const AuditItemSchema = z.object({
  cursor: z.string(),
  accountId: z.string(),
  timestamp: z.string(),
  serviceName: z.string(),
  eventType: z.string(),
  message: z.string(),
  clientId: z.string().nullable(),
  traceId: z.string().nullable(),
  ipAddress: z.string().nullable(),
  userId: z.string().nullable(),
  referenceId: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
  sequence: z.number().describe("Position in the account's hash chain (1, 2, 3…)."),
});

export const AuditPageSchema = z.object({
  items: z.array(AuditItemSchema),
  next: z.string().nullable().describe('POST here (no body needed) for the next page; null on the last page.'),
});
