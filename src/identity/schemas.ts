import { z } from 'zod';
import { DeviceStateSchema } from '../devices/schemas.js';
import { AuditItemSchema } from '../audit/schemas.js';
import { TransactionDataSchema } from '../flows/schemas.js';
import { IssuedCredentialSchema } from '../credentials/schemas.js';

/** Response and request shapes of the users API, shared by the routes (validation, OpenAPI) and the RP client. */
export { DeviceStateSchema };

export const DeviceViewSchema = z.object({ deviceId: z.string(), state: DeviceStateSchema, createdAt: z.string() });

export const AttributeViewSchema = z.object({
  value: z.string(),
  provider: z.string(),
  transactionId: z.string(),
  proofingId: z.string(),
  verifiedAt: z.string(),
});

export const UserViewSchema = z.object({
  userId: z.string(),
  state: z.string(),
  createdAt: z.string(),
  attributes: z.record(z.string(), AttributeViewSchema),
  devices: z.array(DeviceViewSchema),
});

export const DeviceStateBody = z.strictObject({ state: DeviceStateSchema });

export const UserExportQuery = z.strictObject({
  include: z.literal('evidence').optional().describe('`evidence`: the evidence contents too, base64 (at most 64 MiB in all, else 422 export_too_large).'),
});

export const UserFindQuery = z.strictObject({
  externalRef: z
    .string()
    .min(1)
    .max(10_000)
    .optional()
    .describe('The externalRef given at Start onboarding: a string as is, any other JSON value as its JSON text.'),
  limit: z.coerce.number().int().min(1).max(100).optional().describe('Page size, at most 100 (the default).'),
  cursor: z.string().max(10_000).optional().describe("From a previous page's `next`: continues that query (other parameters are ignored)."),
});

export const UserSummarySchema = z.object({ userId: z.string(), state: z.string(), createdAt: z.string() });
export const UserFindResponse = z.object({ items: z.array(UserSummarySchema), next: z.string().nullable() });

const EvidenceExportSchema = z.object({
  evidenceId: z.string(),
  proofingId: z.string(),
  kind: z.string(),
  mediaType: z.string(),
  size: z.number().int(),
  createdAt: z.string(),
  content: z.string().optional(),
});

export const UserExportSchema = z.object({
  userId: z.string(),
  state: z.string(),
  createdAt: z.string(),
  exportedAt: z.string(),
  externalRef: z.unknown().optional(),
  attributes: z.record(z.string(), AttributeViewSchema),
  devices: z.array(DeviceViewSchema),
  transactions: z.array(TransactionDataSchema),
  evidence: z.array(EvidenceExportSchema),
  credentials: z.array(IssuedCredentialSchema),
  auditItems: z.array(AuditItemSchema),
  auditItemsTruncated: z.boolean(),
});
