import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { findAccountDevice, setDeviceState, type Device } from '../devices/device-store.js';
import { apiError, errors } from '../shared/errors.js';
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

export async function identityRoutes(base: FastifyInstance, ctx: Pick<AppContext, 'verifyToken' | 'users' | 'store' | 'clock' | 'audit' | 'outbox'>): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();
  const guard = requirePermission(ctx.verifyToken, 'reuseid-users');

  app.get('/users/:userId', {
    onRequest: guard,
    schema: {
      tags: ['Users'], summary: 'Get a user with verified attributes and devices', operationId: 'getUser', security, params: UserParams,
      response: { 200: z.object({ data: UserViewSchema }), 404: ErrorObjectSchema },
    },
  }, async (request) => {
    const user = await ctx.users.find(ctx.store.db, principalOf(request).accountId, request.params.userId);
    if (!user) throw errors.userNotFound(request.params.userId);
    const devices = await ctx.store.db.selectFrom('devices').select('id').where('user_id', '=', user.id).orderBy('created_at').execute();
    const views = [];
    for (const row of devices) views.push(deviceView((await findAccountDevice(ctx.store.db, user.accountId, row.id))!));
    return { data: { userId: user.id, state: user.state, createdAt: isoTime(user.createdAt), attributes: await ctx.users.readAttributes(ctx.store.db, user), devices: views } };
  });

  app.patch('/users/:userId/devices/:deviceId', {
    onRequest: guard,
    schema: {
      tags: ['Users'], summary: 'Lock, deactivate or reactivate a device', operationId: 'updateDeviceState', security, params: DeviceParams,
      body: DeviceStateBody,
      response: { 200: z.object({ data: DeviceViewSchema }), 404: ErrorObjectSchema, 409: ErrorObjectSchema, 422: ErrorObjectSchema },
    },
  }, async (request) => {
    const { accountId } = principalOf(request);
    const device = await findAccountDevice(ctx.store.db, accountId, request.params.deviceId);
    if (!device || device.userId !== request.params.userId) throw errors.deviceNotFound(`No device with ID ${request.params.deviceId} is registered to user ${request.params.userId}.`);
    if (device.state === 'DEACTIVATED' && request.body.state !== 'DEACTIVATED') {
      throw apiError('device_deactivated', 'A deactivated device cannot be reactivated; activate a new device instead.');
    }
    const now = ctx.clock.now();
    await ctx.store.write(async (trx) => {
      if (!(await setDeviceState(trx, device.id, request.body.state, now))) return;
      await ctx.audit.append(trx, {
        accountId,
        eventType: 'device.state.change',
        message: `Device state changed to ${request.body.state}`,
        ...requestMeta(request),
        userId: device.userId,
        data: { deviceId: device.id, from: device.state, to: request.body.state },
      });
      await ctx.outbox.enqueue(trx, accountId, 'device.state.change', { deviceId: device.id, userId: device.userId, state: request.body.state, previousState: device.state });
    });
    return { data: deviceView({ ...device, state: request.body.state }) };
  });
}
