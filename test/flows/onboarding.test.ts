import { describe, expect, it } from 'vitest';
import { decodeOperationContext } from '../../src/sdk/device.js';
import { testDatabases } from '../support/databases.js';
import { useHarness } from '../support/harness.js';

const SEED_BODY = {
  externalRef: 'Empl10300469',
  provider: 'signicatvideoid',
  videoidProviderOptions: { docType: 138, docTypes: [138, 123], defaultId: 138 },
};
const JANE = { firstName: 'JANE', lastName: 'SMITH', dateOfBirth: '1990-01-01', gender: 'F', nationality: 'NOR' };

for (const database of testDatabases) {
  describe(`onboarding and step-up (${database.name})`, () => {
    const t = useHarness(database);

    async function onboard(identity = JANE) {
      const start = await t.rp.post('/reuseid/onboarding', SEED_BODY);
      expect(start.status).toBe(200);
      const device = await t.h.device();
      const activation = await device.activate(start.body.data.activationCode);
      const proof = await device.call<{ status: string }>('POST', `/device/v1/transactions/${activation.transactionId}/proofing/sandbox`, {
        outcome: 'accepted',
        identity,
      });
      expect(proof.status).toBe('Completed');
      return { start: start.body.data, device, activation };
    }

    it('starts an onboarding with the seed body and answers in the seed shape', async () => {
      const res = await t.rp.post('/reuseid/onboarding', SEED_BODY);
      expect(res.status).toBe(200);
      expect(res.headers['x-trace-id']).toMatch(/^[0-9a-f]{32}$/);
      const data = res.body.data;
      expect(data.status).toBe('Pending');
      expect(data.activationCode).toMatch(/^\d{10}$/);
      for (const id of ['transactionId', 'userId', 'dossierId', 'processId']) expect(data[id]).toMatch(/^[0-9a-f-]{36}$/);
      const got = await t.rp.get(`/reuseid/onboarding/${data.transactionId}`);
      expect(got.body.data).toMatchObject({ status: 'Pending', stage: 'activation', userId: data.userId, provider: 'signicatvideoid' });
      expect(got.body.data.activationCode).toBeUndefined();
    });

    it('runs activation and sandbox proofing to Completed with userData, deviceId and proofingId', async () => {
      const { start, activation } = await onboard();
      const context = decodeOperationContext(activation.post_operation_context);
      expect(context).toMatchObject({
        operation: 'onboarding',
        provider: 'signicatvideoid',
        transactionId: start.transactionId,
        deviceId: activation.deviceId,
      });
      expect(context.providerOptions).toEqual(SEED_BODY.videoidProviderOptions);
      const got = await t.rp.get(`/reuseid/onboarding/${start.transactionId}`);
      expect(got.body.data).toMatchObject({ status: 'Completed', deviceId: activation.deviceId, userData: JANE, userId: start.userId });
      expect(got.body.data.proofingId).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('writes the verified attributes to the user with their provenance', async () => {
      const { start } = await onboard();
      const user = (await t.h.ctx.users.find(t.h.ctx.store.db, t.rp.accountId, start.userId))!;
      const attributes = await t.h.ctx.users.readAttributes(t.h.ctx.store.db, user);
      expect(attributes.firstName).toMatchObject({ value: 'JANE', provider: 'sandbox', transactionId: start.transactionId });
      expect(attributes.nationality?.value).toBe('NOR');
    });

    it('ends Failed when the proof is rejected, and a decided transaction cannot be decided again', async () => {
      const start = await t.rp.post('/reuseid/onboarding', {});
      const device = await t.h.device();
      const { transactionId } = await device.activate(start.body.data.activationCode);
      const path = `/device/v1/transactions/${transactionId}/proofing/sandbox`;
      // The sandbox takes only catalogued reasons: an RP sees there what it can see in production.
      await expect(device.call('POST', path, { outcome: 'rejected', reason: 'made_up_reason' })).rejects.toMatchObject({ status: 422 });
      await device.call('POST', path, { outcome: 'rejected', reason: 'document_expired' });
      const got = await t.rp.get(`/reuseid/onboarding/${transactionId}`);
      expect(got.body.data).toMatchObject({ status: 'Failed', failureReason: 'document_expired' });
      expect(got.body.data.userData).toBeUndefined();
      await expect(device.call('POST', path, { outcome: 'accepted', identity: JANE })).rejects.toMatchObject({ status: 409 });
      expect((await t.rp.get(`/reuseid/onboarding/${transactionId}`)).body.data.status).toBe('Failed');
    });

    it('runs a step-up on the registered device: approve, proof, Completed', async () => {
      const { start, device, activation } = await onboard();
      const stepUp = await t.rp.post('/reuseid/step-up', { userId: start.userId, deviceId: activation.deviceId, provider: 'readid' });
      expect(stepUp.status).toBe(200);
      expect(stepUp.body.data).toMatchObject({ status: 'Pending', userId: start.userId, deviceId: activation.deviceId, dossierId: start.dossierId });
      const [operation] = await device.pendingOperations();
      expect(operation!.transactionId).toBe(stepUp.body.data.transactionId);
      expect(decodeOperationContext(operation!.pre_operation_context)).toEqual({ operation: 'stepup', provider: 'readid', processType: 'ready' });
      const approved = await device.decide(operation!);
      expect(approved).toMatchObject({ status: 'Pending', stage: 'proofing' });
      expect(decodeOperationContext(approved.post_operation_context!)).toMatchObject({ operation: 'stepup', transactionId: operation!.transactionId });
      // The same person, the names spelled as another document might: the step-up binds, the identity stays enrolled.
      const respelled = { ...JANE, firstName: 'Jane', lastName: 'Smith' };
      await device.call('POST', `/device/v1/transactions/${operation!.transactionId}/proofing/sandbox`, { outcome: 'accepted', identity: respelled });
      const got = await t.rp.get(`/reuseid/step-up/${operation!.transactionId}`);
      expect(got.body.data).toMatchObject({ status: 'Completed', deviceId: activation.deviceId, userData: respelled, assuranceLevel: 'low' });
      expect(got.body.data.proofingId).toMatch(/^[0-9a-f-]{36}$/);
      const user = (await t.h.ctx.users.find(t.h.ctx.store.db, t.rp.accountId, start.userId))!;
      expect((await t.h.ctx.users.readAttributes(t.h.ctx.store.db, user)).lastName).toMatchObject({ value: 'SMITH', transactionId: start.transactionId });
    });

    it('fails a step-up the device refuses, and a signature over another challenge is refused', async () => {
      const { start, device, activation } = await onboard();
      const stepUp = await t.rp.post('/reuseid/step-up', { userId: start.userId, deviceId: activation.deviceId });
      const [operation] = await device.pendingOperations();
      await expect(device.decide({ ...operation!, challenge: 'not-the-challenge' })).rejects.toMatchObject({ status: 422 });
      await device.decide(operation!, 'reject');
      const got = await t.rp.get(`/reuseid/step-up/${stepUp.body.data.transactionId}`);
      expect(got.body.data).toMatchObject({ status: 'Failed', failureReason: 'device_rejected' });
      await expect(device.decide(operation!)).rejects.toMatchObject({ status: 409 });
    });

    it('refuses a step-up for an unknown user, a device of another user, and a device that is not active', async () => {
      const first = await onboard();
      const second = await onboard();
      const unknownUser = await t.rp.post('/reuseid/step-up', { userId: '0eb66632-88d0-4ef4-8126-495c64a0abd2', deviceId: first.activation.deviceId });
      expect(unknownUser.status).toBe(404);
      expect(unknownUser.body.code).toBe('user_entity_does_not_exist');
      const otherUsersDevice = await t.rp.post('/reuseid/step-up', { userId: first.start.userId, deviceId: second.activation.deviceId });
      expect(otherUsersDevice.status).toBe(404);
      expect(otherUsersDevice.body.code).toBe('device_not_found');
      await t.h.ctx.store.db.updateTable('devices').set({ state: 'LOCKED' }).where('id', '=', first.activation.deviceId).execute();
      const locked = await t.rp.post('/reuseid/step-up', { userId: first.start.userId, deviceId: first.activation.deviceId });
      expect(locked.status).toBe(409);
      expect(locked.body).toMatchObject({ code: 'device_not_active', status: 409, traceId: locked.headers['x-trace-id'] });
    });

    it('accepts the older body shapes and the provider alias; the new name wins', async () => {
      const legacyWrapped = await t.rp.post('/reuseid/onboarding', { input: { eidProviderOptions: { docTypes: [138, 169], defaultId: 138 } } });
      const legacyFlat = await t.rp.post('/reuseid/onboarding', { provider: 'videoid', eidProviderOptions: { docTypes: [123], defaultId: 123 } });
      const both = await t.rp.post('/reuseid/onboarding', { eidProviderOptions: { docTypes: [1] }, videoidProviderOptions: { docTypes: [2] } });
      for (const res of [legacyWrapped, legacyFlat, both]) expect(res.status).toBe(200);
      const options = async (res: typeof both) => {
        const device = await t.h.device();
        const activation = await device.activate(res.body.data.activationCode);
        return decodeOperationContext(activation.post_operation_context);
      };
      expect((await options(legacyWrapped)).providerOptions).toEqual({ docTypes: [138, 169], defaultId: 138 });
      expect(await options(legacyFlat)).toMatchObject({ provider: 'signicatvideoid', providerOptions: { docTypes: [123], defaultId: 123 } });
      expect((await options(both)).providerOptions).toEqual({ docTypes: [2] });
    });

    it('answers 422 with one invalidParams entry per bad field', async () => {
      const res = await t.rp.post('/reuseid/onboarding', {
        provider: 'passportscan',
        externalRef: 'x'.repeat(2000),
        videoidProviderOptions: { docTypes: [138, 123], defaultId: 999, docType: -1 },
        minimumAssuranceLevel: 'extreme',
        color: 'blue',
      });
      expect(res.status).toBe(422);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ code: 'invalid_request_parameter', status: 422, traceId: res.headers['x-trace-id'] });
      const names = res.body.invalidParams.map((p: { name: string }) => p.name).sort();
      expect(names).toEqual(
        ['color', 'externalRef', 'minimumAssuranceLevel', 'provider', 'videoidProviderOptions.defaultId', 'videoidProviderOptions.docType'].sort(),
      );
      const crossField = await t.rp.post('/reuseid/onboarding', { videoidProviderOptions: { docTypes: [138, 123], defaultId: 999 } });
      expect(crossField.body.invalidParams).toEqual([{ name: 'videoidProviderOptions.defaultId', reason: 'defaultId must be one of docTypes' }]);
      const stepUp = await t.rp.post('/reuseid/step-up', { userId: 'not-a-uuid', provider: 'sandbox2', minimumAssuranceLevel: 'HIGH' });
      expect(stepUp.status).toBe(422);
      expect(stepUp.body.invalidParams.map((p: { name: string }) => p.name).sort()).toEqual(['deviceId', 'minimumAssuranceLevel', 'provider', 'userId']);
    });

    it('refuses malformed JSON and wrong content types with the error object', async () => {
      const postRaw = (contentType: string, payload: string) =>
        t.h.app.inject({
          method: 'POST',
          url: '/reuseid/onboarding',
          headers: { authorization: `Bearer ${t.rp.token}`, 'content-type': contentType },
          payload,
        });
      const malformed = await postRaw('application/json', '{"externalRef":');
      expect(malformed.statusCode).toBe(400);
      expect(malformed.json()).toMatchObject({ code: 'invalid_request', traceId: malformed.headers['x-trace-id'] });
      const text = await postRaw('application/xml', '<a/>');
      expect(text.statusCode).toBe(415);
      const huge = await t.rp.post('/reuseid/onboarding', { externalRef: 'x'.repeat(2 * 1024 * 1024) });
      expect(huge.status).toBe(413);
      expect(huge.body.code).toBe('payload_too_large');
    });

    it("answers 404 for unknown transactions, for the other flow kind, and for another account's transactions", async () => {
      const { start } = await onboard();
      expect((await t.rp.get('/reuseid/onboarding/94099e7e-b391-45fb-9404-b54682f16d03')).body.code).toBe('transaction_not_found');
      expect((await t.rp.get(`/reuseid/step-up/${start.transactionId}`)).status).toBe(404);
      const other = await t.h.rp({ account: 'acme' });
      const foreign = await other.get(`/reuseid/onboarding/${start.transactionId}`);
      expect(foreign.status).toBe(404);
      expect(JSON.stringify(foreign.body)).not.toContain(start.userId);
      const foreignStepUp = await other.post('/reuseid/step-up', { userId: start.userId, deviceId: 'x' });
      expect(foreignStepUp.status).toBe(404);
      expect(foreignStepUp.body.code).toBe('user_entity_does_not_exist');
    });

    it('expires a pending transaction: Expired on read before any sweep, and never changes again', async () => {
      const start = await t.rp.post('/reuseid/onboarding', {});
      t.h.clock.advance(t.h.ctx.config.transactionTtlSeconds * 1000 + 1);
      const later = await t.h.rp(); // the first token has expired meanwhile
      const got = await later.get(`/reuseid/onboarding/${start.body.data.transactionId}`);
      expect(got.body.data).toMatchObject({ status: 'Expired', stage: 'done' });
      t.h.clock.set(Date.now()); // back to the device's time: the recorded expiry must hold regardless
      const device = await t.h.device();
      await expect(device.activate(start.body.data.activationCode)).rejects.toMatchObject({ status: 400 });
      const row = await t.h.ctx.store.db
        .selectFrom('transactions')
        .select(['status'])
        .where('id', '=', start.body.data.transactionId)
        .executeTakeFirstOrThrow();
      expect(row.status).toBe('Expired');
    });
  });
}
