import { importJWK, type CryptoKey, type JWK } from 'jose';
import type { Executor } from '../store/database.js';
import type { DevicesTable } from '../store/schema.js';
import { DEVICE_ALG, type DevicePublicKey } from './proofs.js';

import type { DeviceState } from './schemas.js';

/** A user's registered device: a P-256 public key the device holds the private half of. */

export interface Device {
  id: string;
  accountId: string;
  userId: string;
  state: DeviceState;
  publicJwk: JWK;
  createdAt: number;
}

const toDevice = (row: DevicesTable): Device => ({
  id: row.id,
  accountId: row.account_id,
  userId: row.user_id,
  state: row.state as DeviceState,
  publicJwk: JSON.parse(row.public_jwk) as JWK,
  createdAt: row.created_at,
});

export async function insertDevice(
  executor: Executor,
  device: { id: string; accountId: string; userId: string; key: DevicePublicKey; now: number },
): Promise<void> {
  await executor
    .insertInto('devices')
    .values({
      id: device.id,
      account_id: device.accountId,
      user_id: device.userId,
      public_jwk: JSON.stringify(device.key.jwk),
      key_thumbprint: device.key.thumbprint,
      state: 'ACTIVE',
      created_at: device.now,
      updated_at: device.now,
      last_used_at: null,
    })
    .execute();
}

export async function findDevice(executor: Executor, id: string): Promise<Device | null> {
  if (id.length > 100) return null;
  const row = await executor.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toDevice(row) : null;
}

export async function findAccountDevice(executor: Executor, accountId: string, id: string): Promise<Device | null> {
  const device = await findDevice(executor, id);
  return device && device.accountId === accountId ? device : null;
}

/** The user's devices, oldest first. */
export async function listUserDevices(executor: Executor, userId: string): Promise<Device[]> {
  const rows = await executor.selectFrom('devices').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();
  return rows.map(toDevice);
}

export async function devicePublicKey(device: Device): Promise<CryptoKey> {
  return (await importJWK(device.publicJwk, DEVICE_ALG)) as CryptoKey;
}

export async function setDeviceState(executor: Executor, id: string, state: DeviceState, now: number): Promise<boolean> {
  const result = await executor.updateTable('devices').set({ state, updated_at: now }).where('id', '=', id).where('state', '!=', state).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Deactivates every device of the user still not deactivated (erasure); returns their IDs. */
export async function deactivateUserDevices(executor: Executor, userId: string, now: number): Promise<string[]> {
  const rows = await executor.selectFrom('devices').select('id').where('user_id', '=', userId).where('state', '!=', 'DEACTIVATED').execute();
  for (const row of rows) await setDeviceState(executor, row.id, 'DEACTIVATED', now);
  return rows.map((row) => row.id);
}
