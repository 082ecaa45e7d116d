import { z } from 'zod';

/** Response shapes of the audit API, shared by the routes (validation, OpenAPI) and the RP client. */
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
  sequence: z.number().describe('Position in the account\'s hash chain (1, 2, 3…).'),
});

export const AuditPageSchema = z.object({
  items: z.array(AuditItemSchema),
  next: z.string().nullable().describe('POST here (no body needed) for the next page; null on the last page.'),
});
