import { afterAll, describe, expect, it } from 'vitest';
import { openEnvelope } from '../../src/events/outbox.js';
import type { DeviceClient } from '../../src/sdk/device.js';
import { testDatabases } from '../support/databases.js';
import { useHarness } from '../support/harness.js';
import { passport, trustedCsca, upload } from './support.js';

/**
 * A step-up proves the enrolled person again: another person's genuine passport fails it and changes nothing; the
 * same person's renewed passport completes it and updates only the document attributes. Every completed transaction
 * reports the assurance level it reached, and an RP's minimum is enforced.
 */
const ANNA = { firstName: 'ANNA MARIA', lastName: 'ERIKSSON', dateOfBirth: '1974-08-12', gender: 'F', nationality: 'DEU' };
const IDENTITY = ['firstName', 'lastName', 'dateOfBirth', 'gender', 'nationality'];
const trust = trustedCsca();
afterAll(() => trust.remove());

let documentSerial = 0;
const newPassport = (options: Parameters<typeof passport>[1] = {}) =>
  passport(trust.csca, { nationality: 'D', documentNumber: `B${String(++documentSerial).padStart(8, '0')}`, ...options });

const documentNumber = (doc: ReturnType<typeof newPassport>) => doc.mrz[1]!.slice(0, 9).replaceAll('<', '');

interface Attribute {
  value: string;
  provider: string;
  transactionId: string;
}

for (const database of testDatabases) {
  describe(`identity binding and assurance levels, readid (${database.name})`, () => {
    // The chip and the attributes: the selfie is optional here; faces.test.ts covers the face and the enrolled face.
    const t = useHarness(database, { REUSEID_TRUST_STORE: trust.dir, REUSEID_READID_SELFIE: 'optional' });

    async function onboard(doc = newPassport(), body: Record<string, unknown> = {}) {
      const start = await t.rp.post('/reuseid/onboarding', { provider: 'readid', ...body });
      expect(start.status).toBe(200);
      const device = await t.h.device();
      const activation = await device.activate(start.body.data.activationCode);
      const answer = await upload(device, activation.transactionId, doc);
      return { transactionId: activation.transactionId, userId: start.body.data.userId as string, device, deviceId: activation.deviceId, answer };
    }

    async function stepUp(
      user: { userId: string; deviceId: string; device: DeviceClient },
      doc: ReturnType<typeof newPassport>,
      body: Record<string, unknown> = {},
    ) {
      const started = await t.rp.post('/reuseid/step-up', { userId: user.userId, deviceId: user.deviceId, provider: 'readid', ...body });
      expect(started.status).toBe(200);
      const [operation] = await user.device.pendingOperations();
      await user.device.decide(operation!);
      const transactionId = started.body.data.transactionId as string;
      await upload(user.device, transactionId, doc);
      return (await t.rp.get(`/reuseid/step-up/${transactionId}`)).body.data;
    }

    const attributes = async (userId: string): Promise<Record<string, Attribute>> => {
      const res = await t.rp.get(`/reuseid/users/${userId}`);
      expect(res.status).toBe(200);
      return res.body.data.attributes;
    };

    it('reports the assurance level and how the chip was verified on Get and in the completed event', async () => {
      const doc = newPassport({ expiry: '2031-12-01' });
      const user = await onboard(doc);
      const data = (await t.rp.get(`/reuseid/onboarding/${user.transactionId}`)).body.data;
      // Chip authentic and clone-checked, but no face compared with it yet: the person is not bound to the document.
      const verification = { document: 'chip', cloneDetection: 'active_authentication', faceMatch: null, reviewedByAgent: false };
      expect(data).toMatchObject({ status: 'Completed', userData: ANNA, assuranceLevel: 'low', verification });
      const events = await t.h.ctx.store.db.selectFrom('outbox_events').select(['id', 'envelope']).where('event_name', '=', 'onboarding.completed').execute();
      const eventData = events
        .map((row) => openEnvelope(t.h.ctx.cipher, row.id, row.envelope).eventData as { transactionId: string })
        .find((e) => e.transactionId === user.transactionId);
      expect(eventData).toMatchObject({ assuranceLevel: 'low', verification });
      // Onboarding enrols the identity and the document.
      const enrolled = await attributes(user.userId);
      expect(enrolled).toMatchObject({
        documentNumber: { value: documentNumber(doc), provider: 'readid', transactionId: user.transactionId },
        documentType: { value: 'P' },
        issuingState: { value: 'UTO' },
        dateOfExpiry: { value: '2031-12-01' },
      });
    });

    it("fails a step-up with another person's genuine passport: identity_mismatch, attributes unchanged, no personal data audited", async () => {
      const user = await onboard();
      const before = await attributes(user.userId);
      expect(before.lastName).toMatchObject({ value: 'ERIKSSON', transactionId: user.transactionId });
      const stranger = newPassport({ firstName: 'JOHN', lastName: 'DOE', dateOfBirth: '1980-02-03', gender: 'M' });
      const data = await stepUp(user, stranger);
      expect(data).toMatchObject({ status: 'Failed', failureReason: 'identity_mismatch' });
      expect(data.assuranceLevel).toBeUndefined();
      expect(data.userData).toBeUndefined();
      expect(await attributes(user.userId)).toEqual(before);

      await t.h.ctx.auditSequencer.sequenceNow();
      const audit = await t.h.ctx.store.db
        .selectFrom('audit_items')
        .select(['event_type', 'body'])
        .where('reference_id', '=', data.transactionId)
        .where('event_type', '=', 'proofing.decided')
        .executeTakeFirstOrThrow();
      expect(JSON.parse(audit.body).data).toMatchObject({
        outcome: 'rejected',
        reason: 'identity_mismatch',
        providerOutcome: 'accepted',
        mismatched: ['firstName', 'lastName', 'dateOfBirth'],
      });
      // Its random identifiers (UUIDs, 32-hex trace id) blanked first: one of them held "1980" in about one run in 200.
      const withoutIds = audit.body.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}/g, '<id>');
      for (const personal of ['JOHN', 'DOE', '1980-02-03', '1980', 'ANNA', 'ERIKSSON', '1974']) expect(withoutIds).not.toContain(personal);

      // The stranger's passport was not bound to this user: its holder can still onboard with it.
      expect((await onboard(stranger)).answer.status).toBe('Completed');
    });

    it("completes a step-up with the same person's renewed passport and updates only the document attributes", async () => {
      const user = await onboard();
      const before = await attributes(user.userId);
      const renewed = newPassport({ expiry: '2035-06-30' });
      const data = await stepUp(user, renewed);
      expect(data).toMatchObject({ status: 'Completed', userData: ANNA, assuranceLevel: 'low' });
      const after = await attributes(user.userId);
      for (const name of IDENTITY) expect(after[name]).toEqual(before[name]);
      for (const name of IDENTITY) expect(after[name]!.transactionId).toBe(user.transactionId);
      expect(after.documentNumber).toMatchObject({ value: documentNumber(renewed), provider: 'readid', transactionId: data.transactionId });
      expect(after.dateOfExpiry).toMatchObject({ value: '2035-06-30', transactionId: data.transactionId });
      expect(after.documentNumber!.value).not.toBe(before.documentNumber!.value);
    });

    it('fails a proofing below the minimum assurance level without writing attributes; a reachable minimum completes', async () => {
      // A chip without Active Authentication was not clone-checked: its data could be a copied dump.
      const noAa = newPassport({ aaKey: 'none' });
      const capped = await onboard(noAa, { minimumAssuranceLevel: 'high' });
      expect(capped.answer).toMatchObject({ status: 'Failed' });
      const data = (await t.rp.get(`/reuseid/onboarding/${capped.transactionId}`)).body.data;
      expect(data).toMatchObject({ status: 'Failed', failureReason: 'assurance_level_not_met' });
      expect(await attributes(capped.userId)).toEqual({});

      const low = await onboard(newPassport({ aaKey: 'none' }), { minimumAssuranceLevel: 'low' });
      expect((await t.rp.get(`/reuseid/onboarding/${low.transactionId}`)).body.data).toMatchObject({
        status: 'Completed',
        assuranceLevel: 'low',
        verification: { document: 'chip', cloneDetection: 'not_performed', faceMatch: null, reviewedByAgent: false },
      });

      // The same minimum on a step-up: the enrolled identity matches, but the level does not.
      const stepped = await stepUp(low, newPassport({ aaKey: 'none' }), { minimumAssuranceLevel: 'substantial' });
      expect(stepped).toMatchObject({ status: 'Failed', failureReason: 'assurance_level_not_met' });
    });
  });
}
