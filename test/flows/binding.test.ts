import { describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { useHarness } from '../support/harness.js';

const JANE = { firstName: 'JANE', lastName: 'SMITH', dateOfBirth: '1990-01-01', gender: 'F', nationality: 'NOR' };

for (const database of testDatabases) {
  describe(`step-up binding to the enrolled identity (${database.name})`, () => {
    const t = useHarness(database);

    /** An onboarding through the sandbox; `outcome` rejected leaves a user with a device but no identity. */
    async function onboard(outcome: 'accepted' | 'rejected' = 'accepted') {
      const start = await t.rp.post('/reuseid/onboarding', { provider: 'signicatvideoid' });
      const device = await t.h.device();
      const activation = await device.activate(start.body.data.activationCode);
      const path = `/device/v1/transactions/${activation.transactionId}/proofing/sandbox`;
      await device.call('POST', path, outcome === 'accepted' ? { outcome, identity: JANE } : { outcome });
      return { userId: start.body.data.userId as string, transactionId: activation.transactionId, device, deviceId: activation.deviceId };
    }

    async function sandboxStepUp(user: Awaited<ReturnType<typeof onboard>>, identity: Record<string, string>, body: Record<string, unknown> = {}) {
      const started = await t.rp.post('/reuseid/step-up', { userId: user.userId, deviceId: user.deviceId, ...body });
      expect(started.status).toBe(200);
      const [operation] = await user.device.pendingOperations();
      await user.device.decide(operation!);
      await user.device.call('POST', `/device/v1/transactions/${operation!.transactionId}/proofing/sandbox`, { outcome: 'accepted', identity });
      return (await t.rp.get(`/reuseid/step-up/${operation!.transactionId}`)).body.data;
    }

    it('fails a step-up that proves another identity and leaves the enrolled one as it was', async () => {
      const user = await onboard();
      const before = (await t.rp.get(`/reuseid/users/${user.userId}`)).body.data.attributes;
      for (const other of [
        { ...JANE, lastName: 'SMITH-DOE' },
        { ...JANE, dateOfBirth: '1990-01-02' },
        { ...JANE, nationality: 'SWE' },
      ]) {
        expect(await sandboxStepUp(user, other)).toMatchObject({ status: 'Failed', failureReason: 'identity_mismatch' });
      }
      expect((await t.rp.get(`/reuseid/users/${user.userId}`)).body.data.attributes).toEqual(before);
    });

    it('reports the sandbox as low and enforces a minimum level on step-up', async () => {
      const user = await onboard();
      const data = (await t.rp.get(`/reuseid/onboarding/${user.transactionId}`)).body.data;
      expect(data).toMatchObject({
        assuranceLevel: 'low',
        verification: { document: 'sandbox', cloneDetection: 'not_performed', faceMatch: null, reviewedByAgent: false },
      });
      expect(await sandboxStepUp(user, JANE, { minimumAssuranceLevel: 'substantial' })).toMatchObject({
        status: 'Failed',
        failureReason: 'assurance_level_not_met',
      });
    });

    it('refuses to start a step-up for a user whose onboarding never completed', async () => {
      const user = await onboard('rejected');
      const res = await t.rp.post('/reuseid/step-up', { userId: user.userId, deviceId: user.deviceId });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: 'user_not_enrolled', status: 409 });
      expect(await user.device.pendingOperations()).toEqual([]);
    });
  });
}
