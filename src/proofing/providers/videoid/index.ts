import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { deviceOf } from '../../../devices/device-auth.js';
import { DeviceTransactionParams, DeviceTransactionResponse } from '../../../devices/schemas.js';
import { requestMeta } from '../../../http/request-meta.js';
import type { Transaction } from '../../../flows/transaction.js';
import type { ProofingPort, ProofingProvider, ProviderServices } from '../../provider.js';
import { apiError } from '../../../shared/errors.js';
import { ErrorObjectSchema, uploadErrorResponses } from '../../../http/errors.js';
import { allowedDocTypes, CAPTURE_BODY_LIMIT, CaptureUpload, MAX_IMAGE_BYTES, MAX_VIDEO_BYTES, validateCapture } from './capture.js';
import { MAX_CAPTURES, PROVIDER_ID, ReviewCases } from './cases.js';

/**
 * Signicat VideoID (process type `high`): the app captures the document and a selfie (optionally a short video),
 * an agent reviews them in the console (/console) and accepts, rejects or asks for a new capture.
 */
export function videoIdProvider(port: ProofingPort, ctx: ProviderServices): ProofingProvider {
  const cases = new ReviewCases(ctx);
  return {
    id: PROVIDER_ID,
    processType: 'high',
    deviceInstructions: (tx) => captureInstructions(cases, tx),
    registerDeviceRoutes(base: FastifyInstance) {
      const app = base.withTypeProvider<ZodTypeProvider>();
      app.post(
        `/transactions/:transactionId/proofing/${PROVIDER_ID}`,
        {
          bodyLimit: CAPTURE_BODY_LIMIT,
          schema: {
            tags: ['Device'],
            summary: 'Upload a VideoID capture for agent review',
            operationId: 'uploadVideoIdCapture',
            description:
              `Document front (and back for ID cards), a selfie and optionally a short video, base64 in JSON so that the device signature covers them. ` +
              `Images: JPEG or PNG up to ${MAX_IMAGE_BYTES} bytes; video: WebM or MP4 up to ${MAX_VIDEO_BYTES} bytes; types are detected from the content. ` +
              "`docType` must be allowed by the transaction's provider options; `mrz`, when sent, must pass its check digits. " +
              'The server compares the face on the document front with the selfie (and, on a step-up, with the enrolled face) for the reviewing agent; ' +
              'when the face matcher is busy the upload is refused with 503 `face_matcher_busy` and `Retry-After`, nothing stored: send it again. The transaction moves to stage `review`.',
            params: DeviceTransactionParams,
            body: CaptureUpload,
            response: { 200: DeviceTransactionResponse, ...uploadErrorResponses, 503: ErrorObjectSchema },
          },
        },
        async (request) => {
          const tx = await port.deviceTransaction(deviceOf(request), request.params.transactionId);
          if (tx.provider !== PROVIDER_ID) throw apiError('provider_mismatch', `This transaction uses the ${tx.provider} provider.`);
          const capture = validateCapture(request.body, tx.providerOptions, new Date(ctx.clock.now()));
          return port.deviceView(await cases.open(tx, capture, requestMeta(request)));
        },
      );
    },
  };
}

/** What the app needs for the next capture, and why a new one is asked for when an agent requested it. */
async function captureInstructions(cases: ReviewCases, tx: Transaction): Promise<Record<string, unknown>> {
  const latest = await cases.latest(tx.id);
  const resubmission = latest?.status === 'resubmission' && tx.stage === 'proofing' ? { reason: latest.decisionReason } : undefined;
  return {
    capture: {
      docTypes: allowedDocTypes(tx.providerOptions) ?? 'any',
      imageTypes: ['image/jpeg', 'image/png'],
      videoTypes: ['video/webm', 'video/mp4'],
      maxImageBytes: MAX_IMAGE_BYTES,
      maxVideoBytes: MAX_VIDEO_BYTES,
      attempt: (latest?.attempt ?? 0) + (tx.stage === 'proofing' ? 1 : 0),
      maxAttempts: MAX_CAPTURES,
      ...(resubmission ? { resubmissionRequested: resubmission } : {}),
    },
  };
}
