import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { listUserDevices, type Device } from '../devices/device-store.js';
import { changeDeviceState } from '../devices/device-state.js';
import { errors } from '../shared/errors.js';
import { ErrorObjectSchema } from '../http/errors.js';
import { principalOf, requirePermission } from '../http/auth.js';
import { requestMeta } from '../http/request-meta.js';
import { isoTime } from '../shared/runtime.js';
import { DeviceStateBody, DeviceViewSchema, UserViewSchema } from './schemas.js';

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
  ctx: Pick<AppContext, 'verifyToken' | 'users' | 'store' | 'clock' | 'audit' | 'outbox'>,
): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();
  const guard = requirePermission(ctx.verifyToken, 'reuseid-users');

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
      return { data: deviceView(await changeDeviceState(ctx, change, requestMeta(request))) };
    },
  );
}
