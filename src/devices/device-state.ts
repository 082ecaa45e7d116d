import type { AuditLog } from '../audit/log.js';
import type { Outbox } from '../events/outbox.js';
import type { RequestMeta } from '../http/request-meta.js';
import { apiError, errors } from '../shared/errors.js';
import type { Clock } from '../shared/runtime.js';
import type { Store, Tx } from '../store/database.js';
import { findAccountDevice, setDeviceState, type Device } from './device-store.js';
import type { DeviceState } from './schemas.js';

export interface DeviceStateChange {
  accountId: string;
  userId: string;
  deviceId: string;
  state: DeviceState;
}

/**
 * Locks, deactivates or reactivates a user's device. A change is audited and announced (`device.state.change`) in
 * the same unit of work as the write; asking for the state the device already has changes, records and emits nothing.
 */
export async function changeDeviceState(
  ctx: { store: Pick<Store, 'db' | 'write'>; clock: Clock; audit: Pick<AuditLog, 'append'>; outbox: Pick<Outbox, 'enqueue'> },
  change: DeviceStateChange,
  meta: RequestMeta,
  /** Runs in the same unit of work when the state did change (credential revocation on a lock, say). */
  afterChange?: (trx: Tx, change: DeviceStateChange) => Promise<void>,
): Promise<Device> {
  const { accountId, userId, deviceId, state } = change;
  const device = await findAccountDevice(ctx.store.db, accountId, deviceId);
  if (!device || device.userId !== userId) throw errors.deviceNotFound(`No device with ID ${deviceId} is registered to user ${userId}.`);
  if (device.state === 'DEACTIVATED' && state !== 'DEACTIVATED') {
    throw apiError('device_deactivated', 'A deactivated device cannot be reactivated; activate a new device instead.');
  }
  const now = ctx.clock.now();
  await ctx.store.write(async (trx) => {
    if (!(await setDeviceState(trx, device.id, state, now))) return;
    await ctx.audit.append(trx, {
      accountId,
      eventType: 'device.state.change',
      message: `Device state changed to ${state}`,
      ...meta,
      userId: device.userId,
      data: { deviceId: device.id, from: device.state, to: state },
    });
    await ctx.outbox.enqueue(trx, accountId, 'device.state.change', { deviceId: device.id, userId: device.userId, state, previousState: device.state });
    await afterChange?.(trx, change);
  });
  return { ...device, state };
}
