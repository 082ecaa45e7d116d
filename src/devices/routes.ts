import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { ErrorObjectSchema } from '../http/errors.js';
import { requestMeta } from '../http/request-meta.js';
import { ActivationService } from './activation.js';
import { enforceRateLimit } from '../http/rate-limit.js';
import { authenticateDevice, decorateDeviceRequest, deviceOf, presentedDeviceId, requireDeviceSignature } from './device-auth.js';
import { ActivationBody, ActivationResponse, DecisionBody, DeviceTransactionParams, DeviceTransactionResponse, PendingOperationsResponse } from './schemas.js';
import { deviceTransaction, deviceTransactionView } from './transaction-access.js';
const DEVICE_BODY_LIMIT = 64 * 1024;

/**
 * The device API (/device/v1): activation, then signed requests for step-up operations and proofing. Request
 * bodies are kept raw as well as parsed, because a signed request's `bh` claim covers the exact bytes sent.
 */
export async function deviceRoutes(base: FastifyInstance, ctx: AppContext): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();
  decorateDeviceRequest(app);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: ctx.config.bodyLimitBytes }, (request, body, done) => {
    request.rawBody = body as Buffer;
    try {
      done(null, body.length === 0 ? undefined : JSON.parse(body.toString('utf8')));
    } catch {
      const error = Object.assign(new Error('invalid JSON'), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' });
      done(error, undefined);
    }
  });
  const activation = new ActivationService(ctx);

  app.post('/activations', {
    bodyLimit: DEVICE_BODY_LIMIT,
    onRequest: async (request) => enforceRateLimit(ctx, 'activation', ctx.config.rateLimits.activationPerSource, request.ip),
    schema: {
      tags: ['Device'], summary: 'Activate a device',
      description:
        'Binds the device key to the user of the onboarding whose activation code is given. `proof` is a compact JWS ' +
        '(ES256, typ reuseid-activation+jwt) whose protected header embeds the device public key as `jwk` and whose ' +
        'payload is {activationCode, aud: <server URL>, iat}.',
      body: ActivationBody,
      response: {
        200: ActivationResponse,
        400: ErrorObjectSchema, 409: ErrorObjectSchema, 422: ErrorObjectSchema, 429: ErrorObjectSchema,
      },
    },
  }, async (request) => activation.activate(request.body, { ...requestMeta(request), ipAddress: request.ip }));

  await app.register(async (signed) => {
    const authed = signed.withTypeProvider<ZodTypeProvider>();
    authed.addHook('onRequest', requireDeviceSignature);
    authed.addHook('preValidation', async (request) => enforceRateLimit(ctx, 'device', ctx.config.rateLimits.devicePerDevice, presentedDeviceId(request)));
    authed.addHook('preValidation', authenticateDevice(ctx)); // before validation: strangers learn nothing

    authed.get('/operations', {
      schema: {
        tags: ['Device'], summary: 'List pending operations of this device',
        response: { 200: PendingOperationsResponse },
      },
    }, async (request) => ({ operations: await ctx.deviceOperations.listPending(deviceOf(request)) }));

    authed.post('/operations/:operationId/decision', {
      bodyLimit: DEVICE_BODY_LIMIT,
      schema: {
        tags: ['Device'], summary: 'Approve or refuse a pending operation',
        description: '`signature` is a compact JWS (ES256, typ reuseid-approval+jwt) by the device key over {operationId, challenge, decision: "approve"|"reject"}.',
        params: z.object({ operationId: z.string().max(100) }),
        body: DecisionBody,
        response: { 200: DeviceTransactionResponse, 404: ErrorObjectSchema, 409: ErrorObjectSchema, 422: ErrorObjectSchema },
      },
    }, async (request) => {
      const tx = await ctx.deviceOperations.decide(deviceOf(request), request.params.operationId, request.body.signature, requestMeta(request));
      return deviceTransactionView(ctx, tx);
    });

    authed.get('/transactions/:transactionId', {
      schema: { tags: ['Device'], summary: 'The state of one of this device\'s transactions', params: DeviceTransactionParams, response: { 200: DeviceTransactionResponse } },
    }, async (request) => deviceTransactionView(ctx, await deviceTransaction(ctx, deviceOf(request), request.params.transactionId)));

    for (const provider of ctx.providers.all()) provider.registerDeviceRoutes(authed);
  });
}
