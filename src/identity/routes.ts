import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { listUserDevices, type Device } from '../devices/device-store.js';
import { changeDeviceState, type DeviceStateChange } from '../devices/device-state.js';
import { errors } from '../shared/errors.js';
import { ErrorObjectSchema } from '../http/errors.js';
import { principalOf, requirePermission } from '../http/auth.js';
import { requestMeta, type RequestMeta } from '../http/request-meta.js';
import type { Tx } from '../store/database.js';
import { isoTime } from '../shared/runtime.js';
import { UserLifecycle } from './lifecycle.js';
import { DeviceStateBody, DeviceViewSchema, UserExportQuery, UserExportSchema, UserFindQuery, UserFindResponse, UserViewSchema } from './schemas.js';

/**
 * Users and their devices (permission `reuseid-users`): the identity store as the RP sees it. Verified attributes
 * come with their provenance; device state changes (lock, deactivate, reactivate) emit `device.state.change`.
 */
const security = [{ oauth2: ['reuseid-users'] }];
const UserParams = z.object({ userId: z.string().max(100) });
const DeviceParams = UserParams.extend({ deviceId: z.string().max(100) });

const deviceView = (device: Device) => ({ deviceId: device.id, state: device.state, createdAt: isoTime(device.createdAt) });

export async function identityRoutes(
  base: FastifyInstance,
  ctx: Pick<
    AppContext,
    'verifyToken' | 'users' | 'evidence' | 'store' | 'clock' | 'audit' | 'outbox' | 'flows' | 'cipher' | 'config' | 'credentialRegistry' | 'credentialOffers'
  >,
): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();
  const guard = requirePermission(ctx.verifyToken, 'reuseid-users');
  const lifecycle = new UserLifecycle({ ...ctx, baseUrl: ctx.config.publicUrl });
  // A device the RP locks or deactivates may be in the wrong hands: so may the user's credentials (configurable).
  const revokeOnLock = (meta: RequestMeta) => async (trx: Tx, change: DeviceStateChange) => {
    if (!ctx.config.credentials.revokeOnDeviceLock || change.state === 'ACTIVE') return;
    await ctx.credentialRegistry.revokeForUser(trx, { accountId: change.accountId, userId: change.userId, reason: 'device_locked' }, meta);
  };

  app.get(
    '/users',
    {
      onRequest: guard,
      schema: {
        tags: ['Users'],
        summary: 'Find users by externalRef',
        description:
          'The live users of the account whose externalRef (as given at Start onboarding) equals `externalRef`, found by ' +
          'keyed hash (the value itself is stored sealed). Pages of at most `limit`; `next` is the URL of the next page, ' +
          'with a sealed cursor bound to the account, or null. Erased users are never found.',
        operationId: 'findUsers',
        security,
        querystring: UserFindQuery,
        response: { 200: UserFindResponse, 422: ErrorObjectSchema },
      },
    },
    async (request) => lifecycle.find(principalOf(request).accountId, request.query),
  );

  app.delete(
    '/users/:userId',
    {
      onRequest: guard,
      schema: {
        tags: ['Users'],
        summary: 'Erase a user (crypto-shredding)',
        description:
          "Destroys the user's data key, so that every sealed attribute, externalRef, face template, evidence item and " +
          'decision can never be opened again; deactivates the devices, ends open transactions Failed (`user_erased`), ' +
          'records `user.erased` in the audit log and sends the `user.erased` event. Get onboarding / Get step-up still ' +
          'answer for its transactions, with status only. Erasing an erased user answers 204 again and changes nothing.',
        operationId: 'eraseUser',
        security,
        params: UserParams,
        response: { 204: z.null().describe('Erased'), 404: ErrorObjectSchema },
      },
    },
    async (request, reply) => {
      await lifecycle.erase(principalOf(request).accountId, request.params.userId, requestMeta(request));
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/users/:userId/export',
    {
      onRequest: guard,
      schema: {
        tags: ['Users'],
        summary: 'Export everything held about a user',
        description:
          'One JSON document (GDPR Art. 15): attributes with provenance, externalRef, devices, transactions with their ' +
          'outcomes, evidence metadata (kind, media type, size, created) and, with `include=evidence`, the evidence ' +
          'contents base64 (at most 64 MiB in all, else 422 `export_too_large`), and the newest 10,000 audit items about ' +
          'the user (`auditItemsTruncated` says when there were more). An erased user answers 404.',
        operationId: 'exportUser',
        security,
        params: UserParams,
        querystring: UserExportQuery,
        response: { 200: z.object({ data: UserExportSchema }), 404: ErrorObjectSchema, 422: ErrorObjectSchema },
      },
    },
    async (request) => ({
      data: await lifecycle.export(principalOf(request).accountId, request.params.userId, request.query.include === 'evidence'),
    }),
  );

  app.get(
    '/users/:userId',
    {
      onRequest: guard,
      schema: {
        tags: ['Users'],
        summary: 'Get a user with verified attributes and devices',
        operationId: 'getUser',
        security,
        params: UserParams,
        response: { 200: z.object({ data: UserViewSchema }), 404: ErrorObjectSchema },
      },
    },
    async (request) => {
      const user = await ctx.users.find(ctx.store.db, principalOf(request).accountId, request.params.userId);
      if (!user) throw errors.userNotFound(request.params.userId);
      const devices = (await listUserDevices(ctx.store.db, user.id)).map(deviceView);
      return {
        data: {
          userId: user.id,
          state: user.state,
          createdAt: isoTime(user.createdAt),
          attributes: await ctx.users.readAttributes(ctx.store.db, user),
          devices,
        },
      };
    },
  );

  app.patch(
    '/users/:userId/devices/:deviceId',
    {
      onRequest: guard,
      schema: {
        tags: ['Users'],
        summary: 'Lock, deactivate or reactivate a device',
        operationId: 'updateDeviceState',
        security,
        params: DeviceParams,
        body: DeviceStateBody,
        response: { 200: z.object({ data: DeviceViewSchema }), 404: ErrorObjectSchema, 409: ErrorObjectSchema, 422: ErrorObjectSchema },
      },
    },
    async (request) => {
      const { accountId } = principalOf(request);
      const change = { accountId, userId: request.params.userId, deviceId: request.params.deviceId, state: request.body.state };
      const meta = requestMeta(request);
      return { data: deviceView(await changeDeviceState(ctx, change, meta, revokeOnLock(meta))) };
    },
  );
}
