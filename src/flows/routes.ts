import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { errors } from '../shared/errors.js';
import { ErrorObjectSchema } from '../http/errors.js';
import { principalOf, requirePermission } from '../http/auth.js';
import { expireTransaction } from './expiry.js';
import { onboardingBodySchema, StartOnboardingResponse, StartStepUpResponse, stepUpBodySchema, TransactionDataSchema } from './schemas.js';
import type { StoredStart } from './start.js';
import { idempotency, storeIdempotentResponse } from '../http/idempotency.js';
import { requestMeta } from '../http/request-meta.js';
import { effectiveStatus, findAccountTransaction, type FlowKind } from './transaction.js';
import { transactionData } from './view.js';

const TransactionParams = z.object({ transactionId: z.string().max(100) });
const security = [{ oauth2: ['reuseid-onboarding'] }];
const errorResponses = { 401: ErrorObjectSchema, 403: ErrorObjectSchema, 404: ErrorObjectSchema, 422: ErrorObjectSchema };

/** The ReuseID Onboarding API (contract §3), under /reuseid. */
/** What the onboarding routes use. */
export type FlowRouteDeps = Pick<AppContext, 'starter' | 'providers' | 'verifyToken' | 'db' | 'clock' | 'cipher' | 'store' | 'flows'>;

export async function flowRoutes(base: FastifyInstance, ctx: FlowRouteDeps): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();
  const { starter } = ctx;
  const available = (id: string) => ctx.providers.isAvailable(id);
  const guard = requirePermission(ctx.verifyToken, 'reuseid-onboarding');

  // Replaying a Start onboarding hands out a fresh activation code: codes exist only as hashes once answered.
  const onboardingIdempotency = idempotency(ctx, (stored) => starter.reissueActivationCode(stored as StoredStart));
  // On the two Start routes only: a hook of the whole plugin ran on every Get too, for nothing.
  const storeResponse = storeIdempotentResponse(ctx, withoutActivationCode);

  app.post(
    '/onboarding',
    {
      onRequest: guard,
      preHandler: onboardingIdempotency,
      onSend: storeResponse,
      schema: {
        tags: ['Onboarding'],
        summary: 'Start onboarding',
        operationId: 'startOnboarding',
        security,
        description: "Creates a user, hands out an activation code for the user's device, and prepares identity proofing.",
        body: onboardingBodySchema(available),
        response: { 200: StartOnboardingResponse, ...errorResponses },
      },
    },
    async (request) => ({ data: await starter.startOnboarding(principalOf(request), request.body, requestMeta(request)) }),
  );

  app.post(
    '/step-up',
    {
      onRequest: guard,
      preHandler: idempotency(ctx),
      onSend: storeResponse,
      schema: {
        tags: ['Step-up'],
        summary: 'Start step-up',
        operationId: 'startStepUp',
        security,
        description: "Asks the user's registered device to approve a challenge, then runs identity proofing again.",
        body: stepUpBodySchema(available),
        response: { 200: StartStepUpResponse, 409: ErrorObjectSchema, ...errorResponses },
      },
    },
    async (request) => ({ data: await starter.startStepUp(principalOf(request), request.body, requestMeta(request)) }),
  );

  for (const [path, kind, tag, operationId] of [
    ['/onboarding/:transactionId', 'onboarding', 'Onboarding', 'getOnboarding'],
    ['/step-up/:transactionId', 'stepup', 'Step-up', 'getStepUp'],
  ] as const) {
    app.get(
      path,
      {
        onRequest: guard,
        schema: {
          tags: [tag],
          summary: `Get ${kind === 'onboarding' ? 'onboarding' : 'step-up'}`,
          operationId,
          security,
          params: TransactionParams,
          response: { 200: z.object({ data: TransactionDataSchema }), ...errorResponses },
        },
      },
      async (request) => ({ data: await readTransaction(ctx, principalOf(request).accountId, kind, request.params.transactionId) }),
    );
  }
}

async function readTransaction(ctx: FlowRouteDeps, accountId: string, kind: FlowKind, transactionId: string) {
  let tx = await findAccountTransaction(ctx.store.db, accountId, kind, transactionId);
  if (!tx) throw errors.transactionNotFound(transactionId);
  if (tx.status === 'Pending' && effectiveStatus(tx, ctx.clock.now()) === 'Expired') tx = await expireTransaction(ctx, tx);
  return transactionData(tx, ctx.clock.now(), await ctx.flows.readUserData(ctx.store.db, tx));
}

/** What is kept of a Start onboarding answer for idempotent replays: everything but the one-time code. */
function withoutActivationCode(body: unknown): unknown {
  const data = (body as { data?: Record<string, unknown> })?.data;
  if (!data || !('activationCode' in data)) return body;
  const { activationCode: _omitted, ...rest } = data;
  return { data: rest };
}
