import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceApiError, DeviceClient } from '../../src/sdk/device.js';
import { samplePeople } from '../../src/testing/faces/index.js';
import { sampleImages } from '../../src/testing/media/sample-images.js';
import { writePassportDirectory } from '../../src/testing/passports/generator.js';
import { preparePhoto } from '../../src/testing/passports/photo.js';
import { submitReadIdPassport } from '../../src/testing/simulator/readid.js';
import { testDatabases } from '../support/databases.js';
import { useHarness } from '../support/harness.js';
import { instructions, passport, readIdPath, trustedCsca, upload, uploadBody } from './support.js';

/**
 * ReadID proves the person, not only the document: the selfie is compared with the chip's DG2 photo (required by
 * default), and a step-up's selfie also with the face enrolled at onboarding. Real faces (samplePeople); each
 * upload with a selfie runs the face model, so the tests here are few and each does several things.
 */
const ANNA = { firstName: 'ANNA MARIA', lastName: 'ERIKSSON', dateOfBirth: '1974-08-12', gender: 'F', nationality: 'DEU' };
const trust = trustedCsca();
afterAll(() => trust.remove());

type Person = { documentPhoto: Buffer; selfie: Buffer };
let holder: Person;
let other: Person;
beforeAll(async () => {
  [holder, other] = (await samplePeople()) as unknown as [Person, Person];
});

let documentSerial = 0;
async function passportOf(person: Person, options: Parameters<typeof passport>[1] = {}, format: 'jpeg' | 'jpeg2000' = 'jpeg') {
  const documentNumber = `F${String(++documentSerial).padStart(8, '0')}`;
  return passport(trust.csca, { nationality: 'D', documentNumber, photo: await preparePhoto(person.documentPhoto, format), ...options });
}

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: DeviceApiError) => error,
  );

for (const database of testDatabases) {
  describe(`readid face matching (${database.name})`, () => {
    const t = useHarness(database, { REUSEID_TRUST_STORE: trust.dir });

    async function onboarding() {
      const start = await t.rp.post('/reuseid/onboarding', { provider: 'readid' });
      const device = await t.h.device();
      const activation = await device.activate(start.body.data.activationCode);
      return { transactionId: activation.transactionId, userId: start.body.data.userId as string, device, deviceId: activation.deviceId };
    }

    const evidenceKinds = async (userId: string, transactionId: string) => {
      const user = (await t.h.ctx.users.find(t.h.ctx.store.db, t.rp.accountId, userId))!;
      const tx = await t.h.ctx.store.db.selectFrom('transactions').select('proofing_id').where('id', '=', transactionId).executeTakeFirstOrThrow();
      return t.h.ctx.evidence.list(t.h.ctx.store.db, t.h.ctx.users.cipher(user), tx.proofing_id!);
    };

    it("completes with the holder's selfie at level high, enrols the chip photo, and refuses an upload without a selfie", async () => {
      const { transactionId, userId, device } = await onboarding();
      expect((await instructions(device, transactionId)).selfie).toMatchObject({ required: true });
      const doc = await passportOf(holder, {}, 'jpeg2000');
      const withoutSelfie = await refusal(upload(device, transactionId, doc));
      expect(withoutSelfie).toMatchObject({ status: 422, body: { invalidParams: [{ name: 'selfie' }] } });
      const { dg2: _left, ...withoutDg2Body } = await uploadBody(device, transactionId, doc, { selfie: holder.selfie });
      const withoutDg2 = await refusal(device.call('POST', readIdPath(transactionId), withoutDg2Body));
      expect(withoutDg2).toMatchObject({ status: 422, body: { invalidParams: [{ name: 'dg2' }] } });

      expect(await upload(device, transactionId, doc, { selfie: holder.selfie })).toMatchObject({ status: 'Completed', readid: { verdict: 'accepted' } });
      const data = (await t.rp.get(`/reuseid/onboarding/${transactionId}`)).body.data;
      expect(data).toMatchObject({
        status: 'Completed',
        userData: ANNA,
        assuranceLevel: 'high',
        verification: { document: 'chip', cloneDetection: 'active_authentication', faceMatch: { match: true, threshold: 0.5 } },
      });
      expect(data.verification.faceMatch.score).toBeGreaterThanOrEqual(0.5);

      const user = (await t.h.ctx.users.find(t.h.ctx.store.db, t.rp.accountId, userId))!;
      const reference = await t.h.ctx.referenceFaces.find(t.h.ctx.store.db, user, t.h.ctx.faces.model);
      expect(reference).toMatchObject({ provenance: { provider: 'readid', transactionId }, template: { model: t.h.ctx.faces.model } });
      expect(reference!.template.descriptor).toHaveLength(128);
      // The chip photo is JPEG 2000, which browsers do not show: the console gets a JPEG rendering of it.
      expect(reference!.photo?.mediaType).toBe('image/jpeg');
      expect(reference!.photo!.content.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
      const comparison = (await evidenceKinds(userId, transactionId)).find((item) => item.kind === 'readid.face-comparison');
      expect(JSON.parse(comparison!.content.toString())).toMatchObject({ document: { decision: 'match', reference: { faces: 1 }, probe: { faces: 1 } } });
      // Scores and qualities only: no descriptor in the evidence of the comparison.
      expect(comparison!.content.toString()).not.toContain('descriptor');
      // Biometric data sealed at rest: neither the selfie nor the template is stored as it is.
      const rows = await t.h.ctx.store.db.selectFrom('evidence').select(['kind', 'content_sealed']).where('kind', '=', 'readid.selfie').execute();
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) expect(Buffer.from(row.content_sealed).includes(holder.selfie.subarray(0, 64))).toBe(false);
      const stored = await t.h.ctx.store.db.selectFrom('user_reference_faces').selectAll().where('user_id', '=', userId).executeTakeFirstOrThrow();
      expect(JSON.stringify(stored)).not.toContain(String(reference!.template.descriptor[0]));
    });

    it("fails with face_mismatch on another person's selfie, and retries a selfie without a usable face a bounded number of times", async () => {
      const mismatch = await onboarding();
      const doc = await passportOf(holder);
      const failed = await upload(mismatch.device, mismatch.transactionId, doc, { selfie: other.selfie });
      expect(failed).toMatchObject({ status: 'Failed', readid: { verdict: 'accepted', reason: 'face_mismatch' } });
      const data = (await t.rp.get(`/reuseid/onboarding/${mismatch.transactionId}`)).body.data;
      expect(data).toMatchObject({ status: 'Failed', failureReason: 'face_mismatch' });
      expect(data.userData).toBeUndefined();
      expect((await t.rp.get(`/reuseid/users/${mismatch.userId}`)).body.data.attributes).toEqual({});
      // The passport was not bound to the impostor: its holder can still onboard with it.
      const rightful = await onboarding();
      expect(await upload(rightful.device, rightful.transactionId, doc, { selfie: holder.selfie })).toMatchObject({ status: 'Completed' });

      // The sample "selfie" is a drawing without a face: another attempt, then the proofing ends.
      const { 'selfie.jpg': noFace } = sampleImages();
      const blurred = await onboarding();
      const another = await passportOf(holder);
      for (const attempt of [1, 2]) {
        const answer = await upload(blurred.device, blurred.transactionId, another, { selfie: noFace });
        expect(answer).toMatchObject({ status: 'Pending', readid: { attempt, verdict: 'accepted', reason: 'face_not_usable' } });
      }
      expect((await instructions(blurred.device, blurred.transactionId)).previousAttempt).toEqual({ verdict: 'accepted', reason: 'face_not_usable' });
      const last = await upload(blurred.device, blurred.transactionId, another, { selfie: noFace });
      expect(last).toMatchObject({ status: 'Failed', failureReason: 'face_not_usable', readid: { attempt: 3 } });
    });

    it('binds a step-up to the enrolled face: a namesake with their own genuine passport and face fails, the holder with a renewed passport completes', async () => {
      const user = await onboarding();
      await upload(user.device, user.transactionId, await passportOf(holder), { selfie: holder.selfie });
      const before = (await t.rp.get(`/reuseid/users/${user.userId}`)).body.data.attributes;
      const stepUp = async (doc: Awaited<ReturnType<typeof passportOf>>, selfie: Buffer) => {
        const started = await t.rp.post('/reuseid/step-up', { userId: user.userId, deviceId: user.deviceId, provider: 'readid' });
        const [operation] = await user.device.pendingOperations();
        await user.device.decide(operation!);
        await upload(user.device, started.body.data.transactionId, doc, { selfie });
        return (await t.rp.get(`/reuseid/step-up/${started.body.data.transactionId}`)).body.data;
      };

      // Same name, birth date and nationality, another face: the document and its holder agree, the enrolled face does not.
      const namesake = await stepUp(await passportOf(other), other.selfie);
      expect(namesake).toMatchObject({ status: 'Failed', failureReason: 'identity_mismatch' });
      expect((await t.rp.get(`/reuseid/users/${user.userId}`)).body.data.attributes).toEqual(before);
      await t.h.ctx.auditSequencer.sequenceNow();
      const audit = await t.h.ctx.store.db
        .selectFrom('audit_items')
        .select('body')
        .where('reference_id', '=', namesake.transactionId)
        .where('event_type', '=', 'proofing.decided')
        .executeTakeFirstOrThrow();
      expect(JSON.parse(audit.body).data).toMatchObject({ reason: 'identity_mismatch', mismatched: ['face'] });

      const renewed = await stepUp(await passportOf(holder, { expiry: '2036-03-31' }, 'jpeg2000'), holder.selfie);
      expect(renewed).toMatchObject({ status: 'Completed', userData: ANNA, assuranceLevel: 'high', verification: { faceMatch: { match: true } } });
      const reference = await t.h.ctx.referenceFaces.find(t.h.ctx.store.db, (await t.h.ctx.users.find(t.h.ctx.store.db, t.rp.accountId, user.userId))!);
      expect(reference?.provenance.transactionId).toBe(renewed.transactionId);
    });

    it('simulator: device proof --selfie reads the file and sends it with the chip files', async () => {
      const { transactionId, userId, device } = await onboarding();
      const dir = mkdtempSync(join(tmpdir(), 'readid-selfie-'));
      try {
        await writePassportDirectory(join(dir, 'passport'), await passportOf(holder));
        writeFileSync(join(dir, 'selfie.jpg'), holder.selfie);
        await expect(submitReadIdPassport(device as DeviceClient, transactionId, join(dir, 'passport'), { selfie: join(dir, 'missing.jpg') })).rejects.toThrow(
          /Cannot read the selfie .*missing\.jpg: ENOENT/,
        );
        const answer = await submitReadIdPassport(device, transactionId, join(dir, 'passport'), { selfie: join(dir, 'selfie.jpg') });
        expect(answer).toMatchObject({ status: 'Completed', readid: { verdict: 'accepted' } });
        const items = await evidenceKinds(userId, transactionId);
        expect(items.find((e) => e.kind === 'readid.selfie')?.content.equals(holder.selfie)).toBe(true);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
