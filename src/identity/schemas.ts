import { z } from 'zod';
import { DeviceStateSchema } from '../devices/schemas.js';

/** Response and request shapes of the users API, shared by the routes (validation, OpenAPI) and the RP client. */
export { DeviceStateSchema };

export const DeviceViewSchema = z.object({ deviceId: z.string(), state: DeviceStateSchema, createdAt: z.string() });

export const AttributeViewSchema = z.object({
  value: z.string(),
  provider: z.string(),
  transactionId: z.string(),
  proofingId: z.string(),
  verifiedAt: z.string(),
});

export const UserViewSchema = z.object({
  userId: z.string(),
  state: z.string(),
  createdAt: z.string(),
  attributes: z.record(z.string(), AttributeViewSchema),
  devices: z.array(DeviceViewSchema),
});

export const DeviceStateBody = z.strictObject({ state: DeviceStateSchema });
