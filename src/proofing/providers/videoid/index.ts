import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { deviceOf } from '../../../devices/device-auth.js';
import { DeviceTransactionParams, DeviceTransactionResponse } from '../../../devices/schemas.js';
import { requestMeta } from '../../../http/request-meta.js';
import type { Transaction } from '../../../flows/transaction.js';
import type { ProofingPort, ProofingProvider, ProviderServices } from '../../provider.js';
import { ApiError, apiError } from '../../../shared/errors.js';
import { ErrorObjectSchema, uploadErrorResponses } from '../../../http/errors.js';
import {
  allowedDocTypes,
  CAPTURE_BODY_LIMIT,
  CAPTURE_BUFFERED_LIMIT,
  CaptureUpload,
  MAX_IMAGE_BYTES,
  MAX_VIDEO_BYTES,
  ReceivedCapture,
  validateCapture,
} from './capture.js';
import { readCaptureBody, StreamedVideo, type VideoSink } from './capture-stream.js';
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
      // A scope of its own: the streaming body parser is this route's only.
      void base.register(async (scope) => captureRoute(scope, port, ctx, cases));
    },
  };
}

function captureRoute(scope: FastifyInstance, port: ProofingPort, ctx: ProviderServices, cases: ReviewCases): void {
  installCaptureParser(scope, port, ctx);
  const app = scope.withTypeProvider<ZodTypeProvider>();
  app.post(
    `/transactions/:transactionId/proofing/${PROVIDER_ID}`,
    {
      bodyLimit: CAPTURE_BODY_LIMIT,
      // Chunks the request staged and did not adopt are deleted (adopted ones are untouched): before any answer is
      // sent, and once more when the connection closes, for a request whose client went away before its answer.
      onRequest: async (request, reply) => {
        reply.raw.once('close', () => void discardStaged(ctx, request, reply));
      },
      onSend: async (request, reply, payload) => {
        await discardStaged(ctx, request, reply);
        return payload;
      },
      // The schema documents the wire body; the body validated is what the streaming parser made of it.
      validatorCompiler: (route) =>
        validatorCompiler({ ...route, schema: route.httpPart === 'body' ? ReceivedCapture : route.schema } as Parameters<typeof validatorCompiler>[0]),
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
      const upload = request.body as unknown as ReceivedCapture;
      const capture = validateCapture(upload, tx.providerOptions, new Date(ctx.clock.now()));
      return port.deviceView(await cases.open(tx, capture, requestMeta(request)));
    },
  );
}

/**
 * The capture's JSON parser: reads the body as it streams in (capture-stream.ts), sealing the video into chunks
 * staged with the user's data key. It runs after the signature was verified (onRequest), so the signer and its
 * transaction are known; a request with no transaction waiting for a capture stages nothing (its handler refuses it).
 */
function installCaptureParser(scope: FastifyInstance, port: ProofingPort, ctx: ProviderServices): void {
  const parse = scope.getDefaultJsonParser('error', 'error');
  scope.removeContentTypeParser('application/json');
  scope.addContentTypeParser('application/json', async (request: FastifyRequest, payload: AsyncIterable<Buffer>) => {
    const { body, digest } = await readCaptureBody(payload, request.headers['content-type'], {
      limits: { body: CAPTURE_BODY_LIMIT, buffered: CAPTURE_BUFFERED_LIMIT, videoBytes: MAX_VIDEO_BYTES },
      openSink: () => videoSink(port, ctx, request),
      parse: (text) => new Promise((resolve, reject) => parse(request, text, (error, value) => (error ? reject(error) : resolve(value)))),
    });
    request.bodyDigest = digest;
    return body;
  });
}

async function videoSink(port: ProofingPort, ctx: ProviderServices, request: FastifyRequest): Promise<VideoSink | null> {
  const device = request.signedClaim?.device;
  const { transactionId } = request.params as { transactionId?: string };
  if (!device || !transactionId) return null;
  const tx = await port.deviceTransaction(device, transactionId).catch((error: unknown) => {
    if (error instanceof ApiError) return null;
    throw error;
  });
  if (tx?.provider !== PROVIDER_ID || tx.status !== 'Pending' || tx.stage !== 'proofing') return null;
  const user = await ctx.users.find(ctx.store.db, tx.accountId, tx.userId);
  return user ? ctx.evidence.beginUpload(ctx.store.db, ctx.users.cipher(user)) : null;
}

async function discardStaged(ctx: ProviderServices, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const video = (request.body as { video?: unknown } | undefined)?.video;
  if (!(video instanceof StreamedVideo) || !video.staged) return;
  try {
    await ctx.evidence.discardUpload(ctx.store.db, video.staged.evidenceId);
  } catch (error) {
    // The sweeper deletes it within the hour anyway.
    reply.log.warn({ err: error }, 'could not discard staged capture chunks');
  }
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
