import { describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { useHarness } from '../support/harness.js';

const JANE = { firstName: 'JANE', lastName: 'SMITH', dateOfBirth: '1990-01-01', gender: 'F', nationality: 'NOR' };

for (const database of testDatabases) {
  describe(`users and devices API (${database.name})`, () => {
    const t = useHarness(database);

    async function onboard() {
      const start = (await t.rp.post('/reuseid/onboarding', {})).body.data;
      const device = await t.h.device();
      const activation = await device.activate(start.activationCode);
      await device.call('POST', `/device/v1/transactions/${start.transactionId}/proofing/sandbox`, { outcome: 'accepted', identity: JANE });
      return { start, device, activation };
    }

    it("shows a user's verified attributes with provenance and their devices", async () => {
      const { start, activation } = await onboard();
      const res = await t.rp.get(`/reuseid/users/${start.userId}`);
      expect(res.status).toBe(200);
      expect(res.body.data.attributes.dateOfBirth).toMatchObject({ value: '1990-01-01', provider: 'sandbox', transactionId: start.transactionId });
      expect(res.body.data.devices).toEqual([expect.objectContaining({ deviceId: activation.deviceId, state: 'ACTIVE' })]);
    });

    it('locks a device: the device can no longer sign in and no step-up can start on it; the change is an event', async () => {
      const { start, device, activation } = await onboard();
      const locked = await t.h.app.inject({
        method: 'PATCH',
        url: `/reuseid/users/${start.userId}/devices/${activation.deviceId}`,
        headers: { authorization: `Bearer ${t.rp.token}`, 'content-type': 'application/json' },
        payload: { state: 'LOCKED' },
      });
      expect(locked.statusCode).toBe(200);
      await expect(device.pendingOperations()).rejects.toMatchObject({ status: 401 });
      expect((await t.rp.post('/reuseid/step-up', { userId: start.userId, deviceId: activation.deviceId })).body.code).toBe('device_not_active');
      const events = await t.h.ctx.store.db.selectFrom('outbox_events').select('event_name').where('account_id', '=', t.rp.accountId).execute();
      expect(events.map((e) => e.event_name)).toContain('device.state.change');
    });

    it('keeps accounts apart and requires the reuseid-users permission', async () => {
      const { start, activation } = await onboard();
      const other = await t.h.rp({ account: 'other-bank' });
      expect((await other.get(`/reuseid/users/${start.userId}`)).status).toBe(404);
      const patch = await t.h.app.inject({
        method: 'PATCH',
        url: `/reuseid/users/${start.userId}/devices/${activation.deviceId}`,
        headers: { authorization: `Bearer ${other.token}`, 'content-type': 'application/json' },
        payload: { state: 'DEACTIVATED' },
      });
      expect(patch.statusCode).toBe(404);
      const onboardingOnly = await t.h.rp({ permissions: ['reuseid-onboarding'] });
      expect((await onboardingOnly.get(`/reuseid/users/${start.userId}`)).status).toBe(403);
    });
  });
}
