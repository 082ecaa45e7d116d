import { z } from 'zod';
import { PROVIDER_ALIASES } from '../proofing/aliases.js';
import { ASSURANCE_LEVELS } from '../proofing/assurance.js';

/**
 * Request bodies of the four endpoints, exactly as in the seed, plus the older shapes that stay accepted
 * (`{input: {eidProviderOptions}}` and a top-level `eidProviderOptions`). Every check that can be stated about a
 * body is stated here, so one 422 lists every bad field.
 */
const MAX_EXTERNAL_REF_BYTES = 1024;
const MAX_EXTERNAL_REF_DEPTH = 32;

const docTypeId = z
  .number()
  .int()
  .positive()
  .max(2 ** 31 - 1);

export const ProviderOptionsSchema = z
  .strictObject({
    docType: docTypeId.optional().describe('A single allowed document type (VideoID document type id).'),
    docTypes: z.array(docTypeId).min(1).max(200).optional().describe('The document types the user may choose from; all when absent.'),
    defaultId: docTypeId.optional().describe('The pre-selected document type; must be one of docTypes.'),
  })
  .superRefine((options, ctx) => {
    if (!options.docTypes) return;
    if (options.defaultId !== undefined && !options.docTypes.includes(options.defaultId)) {
      ctx.addIssue({ code: 'custom', path: ['defaultId'], message: 'defaultId must be one of docTypes' });
    }
    if (options.docType !== undefined && !options.docTypes.includes(options.docType)) {
      ctx.addIssue({ code: 'custom', path: ['docType'], message: 'docType must be one of docTypes' });
    }
  });

const externalRef = z
  .unknown()
  .superRefine((value, ctx) => {
    if (value === undefined) return;
    // Checked without recursion before serialising: a deeply nested value overflows JSON.stringify's stack.
    if (nestingDepthExceeds(value, MAX_EXTERNAL_REF_DEPTH)) {
      ctx.addIssue({ code: 'custom', message: `externalRef must nest at most ${MAX_EXTERNAL_REF_DEPTH} levels deep` });
    } else if (serialisedBytes(value) > MAX_EXTERNAL_REF_BYTES) {
      ctx.addIssue({ code: 'custom', message: `externalRef must serialise to at most ${MAX_EXTERNAL_REF_BYTES} bytes of JSON` });
    }
  })
  .describe('Your own reference for the end user, any JSON value (at most 1 KiB, nested at most 32 levels).');

/** Whether arrays and objects nest more than `limit` levels in a parsed JSON value; walks with an explicit stack. */
function nestingDepthExceeds(value: unknown, limit: number): boolean {
  const pending: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (next.value === null || typeof next.value !== 'object') continue;
    const depth = next.depth + 1;
    if (depth > limit) return true;
    for (const child of Object.values(next.value)) pending.push({ value: child, depth });
  }
  return false;
}

/** Bytes of the value's JSON; a value that cannot be serialised counts as too large. */
function serialisedBytes(value: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(value) ?? '');
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

function providerField(available: (id: string) => boolean) {
  return z
    .string()
    .superRefine((name, ctx) => {
      const id = PROVIDER_ALIASES[name];
      if (!id) ctx.addIssue({ code: 'custom', message: `unknown provider '${name}'; use signicatvideoid (alias videoid) or readid` });
      else if (!available(id)) ctx.addIssue({ code: 'custom', message: `provider '${name}' is not available on this server` });
    })
    .describe('The identity proofing provider: signicatvideoid (default; alias videoid) or readid.');
}

const minimumAssuranceLevel = z
  .enum(ASSURANCE_LEVELS, { message: `must be one of ${ASSURANCE_LEVELS.join(', ')}` })
  .describe('The least assurance level (eIDAS) the proofing must reach; one that reaches less ends Failed with assurance_level_not_met.');

const legacyFields = {
  eidProviderOptions: ProviderOptionsSchema.optional().describe('Deprecated name of videoidProviderOptions.'),
  input: z.strictObject({ eidProviderOptions: ProviderOptionsSchema.optional() }).optional().describe('Deprecated wrapper (before 12.09.2025).'),
};

export function onboardingBodySchema(available: (id: string) => boolean) {
  return z.strictObject({
    externalRef: externalRef.optional(),
    provider: providerField(available).optional(),
    videoidProviderOptions: ProviderOptionsSchema.optional(),
    minimumAssuranceLevel: minimumAssuranceLevel.optional(),
    ...legacyFields,
  });
}

export function stepUpBodySchema(available: (id: string) => boolean) {
  return z.strictObject({
    userId: z.uuid({ message: 'userId must be a UUID' }).describe('The user that will carry out the operation.'),
    deviceId: z.string().min(1, 'deviceId cannot be empty').max(100).describe("The user's registered device that approves the step-up."),
    externalRef: externalRef.optional(),
    provider: providerField(available).optional(),
    videoidProviderOptions: ProviderOptionsSchema.optional(),
    minimumAssuranceLevel: minimumAssuranceLevel.optional(),
    ...legacyFields,
  });
}

export type OnboardingBody = z.infer<ReturnType<typeof onboardingBodySchema>>;
export type StepUpBody = z.infer<ReturnType<typeof stepUpBodySchema>>;

/** The provider and options a body asks for, resolving aliases and the legacy shapes (the new name wins). */
export function resolveProofingRequest(body: OnboardingBody | StepUpBody) {
  return {
    provider: PROVIDER_ALIASES[body.provider ?? 'signicatvideoid']!,
    options: body.videoidProviderOptions ?? body.eidProviderOptions ?? body.input?.eidProviderOptions ?? {},
  };
}

const UserDataResponse = z.object({
  firstName: z.string(),
  lastName: z.string(),
  dateOfBirth: z.string(),
  gender: z.string(),
  nationality: z.string(),
});

const VerificationSchema = z
  .object({
    document: z.enum(['chip', 'image', 'sandbox']).describe('chip: read by NFC and passive authentication passed; image: photos or video of the document.'),
    cloneDetection: z
      .enum(['active_authentication', 'chip_authentication', 'not_performed'])
      .describe('How the chip was shown not to be a copy; not_performed for images and chips without Active or Chip Authentication.'),
    faceMatch: z
      .object({ score: z.number().nullable(), threshold: z.number(), match: z.boolean(), model: z.string() })
      .nullable()
      .describe("The automated comparison of the person's face with the document photo; null when none was made."),
    reviewedByAgent: z.boolean(),
  })
  .describe('How the proofing was done: what the assurance level rests on.');

export const TransactionDataSchema = z.object({
  status: z.enum(['Pending', 'Completed', 'Failed', 'Expired']),
  transactionId: z.string(),
  userId: z.string(),
  deviceId: z.string().optional(),
  proofingId: z.string().optional(),
  dossierId: z.string(),
  processId: z.string(),
  provider: z.string(),
  userData: UserDataResponse.optional(),
  stage: z.string().describe('Where a Pending transaction stands: activation, authentication, proofing, review; done once ended.'),
  failureReason: z.string().optional().describe('Failed or Expired transactions: why, one of the failure reasons listed in docs/errors.md.'),
  assuranceLevel: z
    .enum(ASSURANCE_LEVELS)
    .optional()
    .describe('Completed transactions: the eIDAS level of assurance the proofing reached (low, substantial, high); see the README for the mapping.'),
  verification: VerificationSchema.optional(),
  createdAt: z.string(),
  expiresAt: z.string(),
  endedAt: z.string().optional(),
});

export const StartOnboardingResponse = z.object({
  data: z.object({
    status: z.literal('Pending'),
    transactionId: z.string(),
    userId: z.string(),
    activationCode: z
      .string()
      .optional()
      .describe(
        'Give it to the user (or as a QR code) for device activation. An idempotent replay hands out a fresh one while the device has not activated, and none after.',
      ),
    dossierId: z.string(),
    processId: z.string(),
    expiresAt: z.string(),
    activationCodeExpiresAt: z.string().optional(),
  }),
});

export const StartStepUpResponse = z.object({
  data: z.object({
    status: z.literal('Pending'),
    transactionId: z.string(),
    userId: z.string(),
    deviceId: z.string(),
    dossierId: z.string(),
    processId: z.string(),
    expiresAt: z.string(),
  }),
});
