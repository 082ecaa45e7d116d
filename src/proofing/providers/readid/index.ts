import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../../../config.js';
import { deviceOf } from '../../../devices/device-auth.js';
import { DeviceTransactionParams, DeviceTransactionResponse } from '../../../devices/schemas.js';
import { requestMeta } from '../../../http/request-meta.js';
import type { Transaction } from '../../../flows/transaction.js';
import { uploadErrorResponses } from '../../../http/errors.js';
import { isoTime } from '../../../shared/runtime.js';
import type { ProofingPort, ProofingProvider, ProviderServices } from '../../provider.js';
import { MAX_ATTEMPTS } from './assessment.js';
import { Challenges } from './challenges.js';
import { DocumentBindings } from './documents.js';
import { PROVIDER_ID, ReadIdProofing } from './proofing.js';
import { TrustAnchors } from './trust.js';
import { FILE_LIMITS, MAX_SELFIE_BYTES, ReadIdUpload, UPLOAD_BODY_LIMIT } from './upload.js';

const AttemptReportSchema = z.object({
  attempt: z.number(),
  maxAttempts: z.number(),
  verdict: z.enum(['accepted', 'inconclusive', 'rejected']),
  reason: z.string().optional(),
  checks: z.record(z.string(), z.string()),
});

/**
 * ReadID (process type `ready`): the app reads the passport chip over NFC and uploads its files with the chip's
 * answer to a server challenge; the server runs passive authentication against its CSCA trust store and active
 * authentication against the challenge, and decides at once.
 */
export function readIdProvider(port: ProofingPort, ctx: ProviderServices & { config: Pick<Config, 'readid'> }): ProofingProvider {
  const challenges = new Challenges(ctx);
  const trust = new TrustAnchors(ctx.config.readid.trustStore);
  const proofing = new ReadIdProofing(ctx, { challenges, documents: new DocumentBindings(ctx), trust });
  return {
    id: PROVIDER_ID,
    processType: 'ready',
    deviceInstructions: (tx) => readInstructions(challenges, proofing, tx, ctx.config.readid.selfie),
    registerDeviceRoutes(base: FastifyInstance) {
      const app = base.withTypeProvider<ZodTypeProvider>();
      app.addHook('onReady', async () => trust.load(base.log));
      app.post(
        `/transactions/:transactionId/proofing/${PROVIDER_ID}`,
        {
          bodyLimit: UPLOAD_BODY_LIMIT,
          schema: {
            tags: ['Device'],
            summary: 'Upload the chip files of an ePassport or ID card (ReadID)',
            operationId: 'uploadReadIdDocument',
            description:
              'The raw files as read from the chip, base64 in JSON so that the device signature covers them: `sod` (EF.SOD) and `dg1` required; ' +
              '`dg2`, `dg14`, `dg15` and `com` when the chip has them. When the chip has DG15, `activeAuthentication` carries the ' +
              "challenge from the post-operation context (hex) and the chip's INTERNAL AUTHENTICATE answer (base64); each challenge works once. " +
              `Limits per file (bytes): ${JSON.stringify(FILE_LIMITS)}. ` +
              `\`selfie\`: the user's photo taken by the app, JPEG or PNG (detected from the content) up to ${MAX_SELFIE_BYTES} bytes, compared with the chip's DG2 photo ` +
              '(and on a step-up with the face enrolled at onboarding) and kept sealed in the dossier; required unless the operator made it optional, and then `dg2` is required too. ' +
              'Unreadable files, a selfie that is not a JPEG or PNG, a missing selfie or DG2, and a missing DG15 that the SOD lists, are refused with 422 and change nothing; ' +
              'a body larger than all fields at their limits with 413; a busy face matcher with 503 and Retry-After (send the same upload again). ' +
              `The answer carries the attempt's verdict; an inconclusive attempt (clone detection did not pass, or no single usable face in the selfie) leaves the transaction Pending for a new attempt, ${MAX_ATTEMPTS} in all. ` +
              "A selfie that is not the chip photo's holder ends it Failed with face_mismatch.",
            params: DeviceTransactionParams,
            body: ReadIdUpload,
            response: { 200: DeviceTransactionResponse.extend({ readid: AttemptReportSchema }), ...uploadErrorResponses },
          },
          // Refused uploads, validation errors included, count towards ending the transaction.
          onError: async (request, _reply, error) => {
            if (!request.device) return;
            const tx = await port.deviceTransaction(request.device, request.params.transactionId).catch(() => null);
            if (tx) await proofing.countRefusedUpload(tx, error, requestMeta(request));
          },
        },
        async (request) => {
          const tx = await port.deviceTransaction(deviceOf(request), request.params.transactionId);
          const { tx: after, report } = await proofing.submit(tx, request.body, requestMeta(request));
          return { ...(await port.deviceView(after)), readid: report };
        },
      );
    },
  };
}

/** What to read from the chip, the challenge to answer, and how the previous attempt went. */
async function readInstructions(
  challenges: Challenges,
  proofing: ReadIdProofing,
  tx: Transaction,
  selfiePolicy: Config['readid']['selfie'],
): Promise<Record<string, unknown>> {
  const [challenge, last] = await Promise.all([challenges.current(tx), proofing.latestAttempt(tx.id)]);
  return {
    readid: {
      read: ['EF.SOD', 'DG1', 'DG2'],
      readWhenPresent: ['DG14', 'DG15', 'EF.COM'],
      maxBytes: FILE_LIMITS,
      selfie: { required: selfiePolicy === 'required', maxBytes: MAX_SELFIE_BYTES, imageTypes: ['image/jpeg', 'image/png'] },
      activeAuthentication: { challenge: challenge.bytes.toString('hex'), expiresAt: isoTime(challenge.expiresAt) },
      attempt: (last?.attempt ?? 0) + 1,
      maxAttempts: MAX_ATTEMPTS,
      ...(last ? { previousAttempt: { verdict: last.verdict, reason: last.reason } } : {}),
    },
  };
}
