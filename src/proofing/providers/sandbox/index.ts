import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { deviceOf } from '../../../devices/device-auth.js';
import { DeviceTransactionParams, DeviceTransactionResponse } from '../../../devices/schemas.js';
import { requestMeta } from '../../../http/request-meta.js';
import { FAILURE_REASON_CODES } from '../../../flows/failure-reasons.js';
import { UserDataSchema } from '../../../identity/user-data.js';
import type { ProofingPort, ProofingProvider } from '../../provider.js';

/**
 * The sandbox provider, present only in sandbox mode: the device states the outcome, with the identity to record
 * when accepted. It exists so that RPs and app developers can run whole flows without a document.
 */
const SandboxSubmission = z.discriminatedUnion('outcome', [
  z.strictObject({ outcome: z.literal('accepted'), identity: UserDataSchema }),
  z.strictObject({
    outcome: z.literal('rejected'),
    // A code of the failure-reason catalogue, so that an RP sees in sandbox only what it can see in production.
    reason: z.enum(FAILURE_REASON_CODES).default('sandbox_rejected'),
  }),
]);

/** Nothing was verified: the device stated the outcome, so the level is low whatever it says. */
const SANDBOX_VERIFICATION = { document: 'sandbox', cloneDetection: 'not_performed', faceMatch: null, reviewedByAgent: false } as const;

export function sandboxProvider(port: ProofingPort): ProofingProvider {
  return {
    id: 'sandbox',
    processType: 'sandbox',
    deviceInstructions: async () => ({ sandboxOutcomes: ['accepted', 'rejected'] }),
    registerDeviceRoutes(base: FastifyInstance) {
      const app = base.withTypeProvider<ZodTypeProvider>();
      app.post(
        '/transactions/:transactionId/proofing/sandbox',
        {
          schema: {
            tags: ['Device'],
            summary: 'Submit a sandbox proofing outcome (sandbox mode only)',
            operationId: 'submitSandboxProofing',
            params: DeviceTransactionParams,
            body: SandboxSubmission,
            response: { 200: DeviceTransactionResponse },
          },
        },
        async (request) => {
          const tx = await port.deviceTransaction(deviceOf(request), request.params.transactionId);
          const submission = request.body;
          const evidence = [{ kind: 'sandbox-submission', mediaType: 'application/json', content: Buffer.from(JSON.stringify(submission)) }];
          const ended = await port.decide(
            tx,
            'sandbox',
            submission.outcome === 'accepted'
              ? { outcome: 'accepted', userData: submission.identity, verification: SANDBOX_VERIFICATION, evidence }
              : { outcome: 'rejected', reason: submission.reason, evidence },
            requestMeta(request),
          );
          return port.deviceView(ended);
        },
      );
    },
  };
}
