import { z } from 'zod';

/**
 * The device API's wire shapes: the single source for validation, the OpenAPI document and the device SDK's types.
 * Operation contexts are the Signicat shape `{context_content_b64, context_mime}` holding `{signicatOperation}`.
 */
export const DEVICE_STATES = ['ACTIVE', 'LOCKED', 'DEACTIVATED'] as const;
export const DeviceStateSchema = z.enum(DEVICE_STATES);
export type DeviceState = z.infer<typeof DeviceStateSchema>;

export const OperationContextSchema = z.object({ context_content_b64: z.string(), context_mime: z.literal('application/json') });
export type OperationContext = z.infer<typeof OperationContextSchema>;

/** What the app is told inside an operation context; providers add their own fields (readid, capture, …). */
export const SignicatOperationSchema = z.looseObject({
  operation: z.enum(['onboarding', 'stepup']),
  provider: z.string(),
  processType: z.string(),
  transactionId: z.string().optional(),
  proofingUrl: z.string().optional(),
  sandboxProofingUrl: z.string().optional(),
});
export type SignicatOperation = z.infer<typeof SignicatOperationSchema>;

export const ActivationBody = z.strictObject({ activationCode: z.string().min(4).max(64), proof: z.string().min(1).max(8192) });
export const ActivationResponse = z.object({
  deviceId: z.string(),
  userId: z.string(),
  transactionId: z.string(),
  post_operation_context: OperationContextSchema,
});
export type ActivationResult = z.infer<typeof ActivationResponse>;

export const PendingOperationSchema = z.object({
  operationId: z.string(),
  transactionId: z.string(),
  operation: z.literal('stepup'),
  challenge: z.string(),
  expiresAt: z.string(),
  pre_operation_context: OperationContextSchema,
});
export type PendingOperation = z.infer<typeof PendingOperationSchema>;
export const PendingOperationsResponse = z.object({ operations: z.array(PendingOperationSchema) });

export const DecisionBody = z.strictObject({ signature: z.string().min(1).max(8192) });

/** What a device may know of one of its transactions. */
export const DeviceTransactionParams = z.object({ transactionId: z.string().max(100) });
export const DeviceTransactionResponse = z.object({
  transactionId: z.string(),
  status: z.string(),
  stage: z.string(),
  failureReason: z.string().optional(),
  post_operation_context: OperationContextSchema.optional(),
});
export type DeviceTransaction = z.infer<typeof DeviceTransactionResponse>;
