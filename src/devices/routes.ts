import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { parseJsonBody } from '../http/body-parsers.js';
import { announcesBody, BodiesInFlight } from '../http/bodies-in-flight.js';
import { ErrorObjectSchema } from '../http/errors.js';
import { requestMeta } from '../http/request-meta.js';
import { ApiError } from '../shared/errors.js';
import { checkSignedBody, decorateDeviceRequest, DEVICE_SECURITY_SCHEME, deviceOf, verifySignature } from './device-auth.js';
import { ActivationBody, ActivationResponse, DecisionBody, DeviceTransactionParams, DeviceTransactionResponse, PendingOperationsResponse } from './schemas.js';
import { requestSource } from '../security/source-prefix.js';

const DEVICE_BODY_LIMIT = 64 * 1024;

/** What the device routes use. */
export type DeviceRouteDeps = Pick<
  AppContext,
  'config' | 'db' | 'clock' | 'rateLimiter' | 'activation' | 'deviceOperations' | 'deviceTransactions' | 'providers'
>;

/**
 * The device API (/device/v1): activation, then signed requests for step-up operations and proofing. Request
 * bodies are kept raw as well as parsed, because a signed request's `bh` claim covers the exact bytes sent.
 */
export async function deviceRoutes(base: FastifyInstance, ctx: DeviceRouteDeps): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();
  decorateDeviceRequest(app);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: ctx.config.bodyLimitBytes }, parseJsonBody(app, { keepRawBody: true }));
  const { activation, deviceTransactions } = ctx;

  app.post(
    '/activations',
    {
      bodyLimit: DEVICE_BODY_LIMIT,
      onRequest: async (request) => ctx.rateLimiter.enforce('activation', ctx.config.rateLimits.activationPerSource, requestSource(request.ip)),
      schema: {
        tags: ['Device'],
        summary: 'Activate a device',
        operationId: 'activateDevice',
        // Public: the one-time activation code in the body, with the proof of key possession, is the credential.
        security: [],
        description:
          'Binds the device key to the user of the onboarding whose activation code is given. `proof` is a compact JWS ' +
          '(ES256, typ reuseid-activation+jwt) whose protected header embeds the device public key as `jwk` and whose ' +
          'payload is {activationCode, aud: <server URL>, iat}.',
        body: ActivationBody,
        response: {
          200: ActivationResponse,
          400: ErrorObjectSchema,
          409: ErrorObjectSchema,
          422: ErrorObjectSchema,
          429: ErrorObjectSchema,
        },
      },
    },
    async (request) => activation.activate(request.body, { ...requestMeta(request), ipAddress: request.ip }),
  );

  await app.register(async (signed) => {
    const authed = signed.withTypeProvider<ZodTypeProvider>();
    // The signature is checked before the body is read (a stranger's upload is never buffered), the body against it
    // before validation (strangers learn nothing from validation errors).
    authed.addHook('onRequest', authenticateAndLimit(ctx));
    authed.addHook('preValidation', limitFailures(ctx, checkSignedBody));
    // Declared once for the OpenAPI document: every route of this scope, the providers' included, needs the signature.
    authed.addHook('onRoute', (route) => {
      const response = route.schema?.response as Record<string, unknown> | undefined;
      route.schema = { ...route.schema, security: [{ [DEVICE_SECURITY_SCHEME]: [] }], response: { ...response, 401: ErrorObjectSchema } };
    });

    authed.get(
      '/operations',
      {
        schema: {
          tags: ['Device'],
          summary: 'List pending operations of this device',
          operationId: 'listPendingOperations',
          response: { 200: PendingOperationsResponse },
        },
      },
      async (request) => ({ operations: await ctx.deviceOperations.listPending(deviceOf(request)) }),
    );

    authed.post(
      '/operations/:operationId/decision',
      {
        bodyLimit: DEVICE_BODY_LIMIT,
        schema: {
          tags: ['Device'],
          summary: 'Approve or refuse a pending operation',
          operationId: 'decideOperation',
          description:
            '`signature` is a compact JWS (ES256, typ reuseid-approval+jwt) by the device key over {operationId, challenge, decision: "approve"|"reject"}.',
          params: z.object({ operationId: z.string().max(100) }),
          body: DecisionBody,
          response: { 200: DeviceTransactionResponse, 404: ErrorObjectSchema, 409: ErrorObjectSchema, 422: ErrorObjectSchema },
        },
      },
      async (request) => {
        const tx = await ctx.deviceOperations.decide(deviceOf(request), request.params.operationId, request.body.signature, requestMeta(request));
        return deviceTransactions.view(tx);
      },
    );

    authed.get(
      '/transactions/:transactionId',
      {
        schema: {
          tags: ['Device'],
          summary: "The state of one of this device's transactions",
          operationId: 'getDeviceTransaction',
          params: DeviceTransactionParams,
          response: { 200: DeviceTransactionResponse },
        },
      },
      async (request) => deviceTransactions.view(await deviceTransactions.find(deviceOf(request), request.params.transactionId)),
    );

    for (const provider of ctx.providers.all()) provider.registerDeviceRoutes(authed);
  });
}

/**
 * Authenticates a signed request from its headers, then counts it and takes an upload slot for its body. A request
 * whose signature did not verify is counted per source address, one that verified per device: a stranger who knows
 * a device ID (the unverified `kid`) spends only the budget of its own address, never the device's.
 */
function authenticateAndLimit(ctx: DeviceRouteDeps) {
  const verify = limitFailures(ctx, verifySignature(ctx));
  const uploads = new BodiesInFlight(ctx.config.deviceUploads);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    await verify(request);
    const device = request.signedClaim?.device;
    if (!device) throw new Error('verifySignature left no claim');
    // The slot is taken as soon as the signature verified (its nonce is then stored), with no await in between, so a
    // request whose nonce is recorded holds its slot. 'close' comes once the response is sent or the connection
    // dropped, whichever way the request ended, and gives it back; a request refused below gives it back the same way.
    if (announcesBody(request)) reply.raw.once('close', uploads.acquire(device.id));
    await ctx.rateLimiter.enforce('device', ctx.config.rateLimits.devicePerDevice, device.id);
  };
}

/** Counts a failed device authentication step against the request's source address. */
function limitFailures(ctx: DeviceRouteDeps, step: (request: FastifyRequest) => Promise<void>) {
  return async (request: FastifyRequest): Promise<void> => {
    try {
      await step(request);
    } catch (error) {
      if (error instanceof ApiError)
        await ctx.rateLimiter.enforce('device:unverified-source', ctx.config.rateLimits.deviceFailuresPerSource, requestSource(request.ip));
      throw error;
    }
  };
}
