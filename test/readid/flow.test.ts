import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GeneratedPassport } from '../../src/testing/passports/generator.js';
import type { DeviceApiError, DeviceClient } from '../../src/sdk/device.js';
import { testDatabases } from '../support/databases.js';
import { createHarness, type Harness, type Rp } from '../support/harness.js';
import { instructions, passport, readIdPath, trustedCsca, upload, uploadBody } from './support.js';
import { MAX_SELFIE_BYTES, UPLOAD_BODY_LIMIT } from '../../src/proofing/providers/readid/upload.js';
import { sampleImages } from '../../src/testing/media/sample-images.js';

const ANNA = { firstName: 'ANNA MARIA', lastName: 'ERIKSSON', dateOfBirth: '1974-08-12', gender: 'F', nationality: 'DEU' };
const trust = trustedCsca();
afterAll(() => trust.remove());

/** Each test its own document number, so that documents bind only where a test means them to. */
let documentSerial = 0;
const newPassport = (options: Parameters<typeof passport>[1] = {}) =>
  passport(trust.csca, { nationality: 'D', documentNumber: `T${String(++documentSerial).padStart(8, '0')}`, ...options });

/** These tests are about the chip: the selfie is optional here, and faces.test.ts covers the face comparison. */
const CHIP_ONLY = { REUSEID_TRUST_STORE: trust.dir, REUSEID_READID_SELFIE: 'optional' };

/** High enough for the tests that send a few dozen bad uploads to one transaction on purpose. */
const MAX_FAILED_UPLOADS = 40;

const refused = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: unknown) => error as DeviceApiError,
  );

for (const database of testDatabases) {
  describe(`readid proofing (${database.name})`, () => {
    let h: Harness;
    let rp: Rp;
    beforeAll(async () => {
      h = await createHarness(database, { ...CHIP_ONLY, REUSEID_READID_MAX_FAILED_UPLOADS: String(MAX_FAILED_UPLOADS) });
      rp = await h.rp();
    });
    afterAll(() => h.close());

    async function startReadId(client: Rp = rp): Promise<{ transactionId: string; userId: string; device: DeviceClient; deviceId: string }> {
      const start = await client.post('/reuseid/onboarding', { provider: 'readid' });
      expect(start.status).toBe(200);
      const device = await h.device();
      const activation = await device.activate(start.body.data.activationCode);
      return { transactionId: activation.transactionId, userId: start.body.data.userId, device, deviceId: activation.deviceId };
    }

    const onboarding = async (transactionId: string, client: Rp = rp) => (await client.get(`/reuseid/onboarding/${transactionId}`)).body.data;

    it('onboards with a genuine passport: Completed with the chip data, provenance readid, evidence sealed', async () => {
      const { transactionId, userId, device } = await startReadId();
      const read = await instructions(device, transactionId);
      expect(read).toMatchObject({ read: ['EF.SOD', 'DG1', 'DG2'], attempt: 1, maxAttempts: 3 });
      expect(read.activeAuthentication.challenge).toMatch(/^[0-9a-f]{16}$/);
      expect((await instructions(device, transactionId)).activeAuthentication.challenge).toBe(read.activeAuthentication.challenge);

      const doc = newPassport();
      const answer = await upload(device, transactionId, doc);
      expect(answer).toMatchObject({
        status: 'Completed',
        stage: 'done',
        readid: { attempt: 1, verdict: 'accepted', checks: { sodSignature: 'SUCCEEDED', certificateChain: 'SUCCEEDED', activeAuthentication: 'SUCCEEDED' } },
      });
      expect(answer.readid.reason).toBeUndefined();
      expect(await onboarding(transactionId)).toMatchObject({ status: 'Completed', userData: ANNA });

      const user = (await h.ctx.users.find(h.ctx.store.db, rp.accountId, userId))!;
      const attributes = await h.ctx.users.readAttributes(h.ctx.store.db, user);
      expect(attributes.lastName).toMatchObject({ value: 'ERIKSSON', provider: 'readid', transactionId });
      const tx = await h.ctx.store.db.selectFrom('transactions').select('proofing_id').where('id', '=', transactionId).executeTakeFirstOrThrow();
      const evidence = await h.ctx.evidence.list(h.ctx.store.db, h.ctx.users.cipher(user), tx.proofing_id!);
      expect(evidence.map((e) => e.kind)).toEqual(
        expect.arrayContaining(['readid.sod', 'readid.dg1', 'readid.dg2', 'readid.dg15', 'readid.active-authentication', 'readid.verification']),
      );
      expect(evidence.find((e) => e.kind === 'readid.dg1')!.content.equals(doc.files['EF_DG1.bin'])).toBe(true);
      const sealed = await h.ctx.store.db.selectFrom('evidence').select('content_sealed').where('proofing_id', '=', tx.proofing_id!).execute();
      for (const row of sealed) expect(row.content_sealed).not.toContain('ERIKSSON');
      expect(JSON.stringify(await h.ctx.store.db.selectFrom('readid_documents').selectAll().execute())).not.toContain(doc.mrz[1]!.slice(0, 9));
    });

    it('onboards with an ECDSA Active Authentication chip (hash named in DG14)', async () => {
      const { transactionId, device } = await startReadId();
      const answer = await upload(device, transactionId, newPassport({ aaKey: 'ecdsa' }));
      expect(answer).toMatchObject({ status: 'Completed', readid: { verdict: 'accepted', checks: { activeAuthentication: 'SUCCEEDED' } } });
    });

    it('onboards a document without Active Authentication (no DG15) without a challenge answer', async () => {
      const { transactionId, device } = await startReadId();
      const answer = await upload(device, transactionId, newPassport({ aaKey: 'none' }));
      expect(answer).toMatchObject({ status: 'Completed', readid: { verdict: 'accepted', checks: { activeAuthentication: 'NOT_PRESENT' } } });
    });

    it('refuses a dump that leaves out the DG15 its SOD lists, instead of skipping clone detection', async () => {
      const { transactionId, device } = await startReadId();
      const { dg15: _dg15, ...withoutDg15 } = await uploadBody(device, transactionId, newPassport(), { withoutAa: true });
      const dodged = await refused(device.call('POST', readIdPath(transactionId), withoutDg15));
      expect(dodged).toMatchObject({ status: 422, body: { invalidParams: [{ name: 'dg15' }] } });
      expect(await onboarding(transactionId)).toMatchObject({ status: 'Pending' });
    });

    for (const [variant, check] of [
      ['tampered-dg1', 'dataGroupHashes'],
      ['untrusted-csca', 'certificateChain'],
    ] as const) {
      it(`fails a ${variant} document with chip_verification_failed, keeping the per-check verdicts`, async () => {
        const { transactionId, device } = await startReadId();
        const answer = await upload(device, transactionId, newPassport({ variant }));
        expect(answer).toMatchObject({ status: 'Failed', readid: { verdict: 'rejected', reason: 'chip_verification_failed', checks: { [check]: 'FAILED' } } });
        expect(await onboarding(transactionId)).toMatchObject({ status: 'Failed', failureReason: 'chip_verification_failed' });
        expect((await onboarding(transactionId)).userData).toBeUndefined();
      });
    }

    it('fails an authentic but expired document with document_expired', async () => {
      const { transactionId, device } = await startReadId();
      const answer = await upload(device, transactionId, newPassport({ variant: 'expired-document' }));
      expect(answer).toMatchObject({ status: 'Failed', readid: { verdict: 'accepted', reason: 'document_expired' } });
      expect(await onboarding(transactionId)).toMatchObject({ status: 'Failed', failureReason: 'document_expired' });
    });

    it('refuses a replayed AA signature, a foreign challenge and a reused one', async () => {
      const doc = newPassport();
      const first = await startReadId();
      const firstBody = await uploadBody(first.device, first.transactionId, doc);
      await first.device.call('POST', readIdPath(first.transactionId), firstBody);
      const recorded = firstBody.activeAuthentication as { challenge: string; signature: string };

      // A copied chip dump with the recorded answer, in a new session (another account: no duplicate rule applies).
      const other = await h.rp({ account: `replay-${database.name}` });
      const second = await startReadId(other);
      const foreign = await refused(upload(second.device, second.transactionId, doc, { challenge: recorded.challenge, signature: recorded.signature }));
      expect(foreign).toMatchObject({ status: 422, body: { code: 'invalid_request_parameter', invalidParams: [{ name: 'activeAuthentication.challenge' }] } });

      const current = (await instructions(second.device, second.transactionId)).activeAuthentication.challenge;
      const replayed = await upload(second.device, second.transactionId, doc, { challenge: current, signature: recorded.signature });
      expect(replayed).toMatchObject({
        status: 'Pending',
        stage: 'proofing',
        readid: { verdict: 'inconclusive', reason: 'chip_clone_detection_failed', checks: { activeAuthentication: 'FAILED' } },
      });

      const reused = await refused(upload(second.device, second.transactionId, doc, { challenge: current }));
      expect(reused).toMatchObject({ status: 422, body: { invalidParams: [{ name: 'activeAuthentication.challenge' }] } });
      expect((await instructions(second.device, second.transactionId)).activeAuthentication.challenge).not.toBe(current);
    });

    it('refuses an expired challenge and hands out a new one', async () => {
      const { transactionId, device } = await startReadId();
      const { challenge } = (await instructions(device, transactionId)).activeAuthentication;
      await h.ctx.store.db
        .updateTable('readid_challenges')
        .set({ expires_at: h.clock.now() - 1 })
        .where('transaction_id', '=', transactionId)
        .execute();
      const expired = await refused(upload(device, transactionId, newPassport(), { challenge }));
      expect(expired.status).toBe(422);
      expect((await instructions(device, transactionId)).activeAuthentication.challenge).not.toBe(challenge);
      expect((await upload(device, transactionId, newPassport())).status).toBe('Completed');
    });

    it('lets only one of two concurrent uploads use a challenge', async () => {
      const { transactionId, device } = await startReadId();
      const doc = newPassport();
      const body = await uploadBody(device, transactionId, doc, { signed: randomBytes(8) });
      const results = await Promise.allSettled([device.call('POST', readIdPath(transactionId), body), device.call('POST', readIdPath(transactionId), body)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const failure = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect([409, 422]).toContain((failure.reason as DeviceApiError).status);
      expect((await instructions(device, transactionId)).attempt).toBe(2);
    });

    it('retries a wrong AA answer with a new challenge, then fails with chip_clone_detection_failed after 3 attempts', async () => {
      const { transactionId, device } = await startReadId();
      const doc = newPassport();
      const seen = new Set<string>();
      for (const attempt of [1, 2]) {
        const read = await instructions(device, transactionId);
        expect(read.attempt).toBe(attempt);
        seen.add(read.activeAuthentication.challenge);
        const answer = await upload(device, transactionId, doc, { signed: randomBytes(8) });
        expect(answer).toMatchObject({
          status: 'Pending',
          stage: 'proofing',
          readid: { attempt, verdict: 'inconclusive', reason: 'chip_clone_detection_failed' },
        });
        expect(answer.post_operation_context).toBeDefined();
      }
      const third = await instructions(device, transactionId);
      expect(third).toMatchObject({ attempt: 3, previousAttempt: { verdict: 'inconclusive', reason: 'chip_clone_detection_failed' } });
      expect(seen.has(third.activeAuthentication.challenge)).toBe(false);
      const last = await upload(device, transactionId, doc, { withoutAa: true });
      expect(last).toMatchObject({
        status: 'Failed',
        readid: { attempt: 3, verdict: 'inconclusive', reason: 'chip_clone_detection_failed', checks: { activeAuthentication: 'NOT_CHECKED' } },
      });
      expect(await onboarding(transactionId)).toMatchObject({ status: 'Failed', failureReason: 'chip_clone_detection_failed' });
      await h.ctx.auditSequencer.sequenceNow();
      const audit = await h.ctx.store.db
        .selectFrom('audit_items')
        .select('event_type')
        .where('reference_id', '=', transactionId)
        .where('event_type', '=', 'readid.attempt.inconclusive')
        .execute();
      expect(audit).toHaveLength(2);
    });

    it('rejects a document bound to another user of the account, but not in another account or for its owner', async () => {
      const doc = newPassport();
      const owner = await startReadId();
      await upload(owner.device, owner.transactionId, doc);
      const impostor = await startReadId();
      const refusedDuplicate = await upload(impostor.device, impostor.transactionId, doc);
      expect(refusedDuplicate).toMatchObject({ status: 'Failed', readid: { verdict: 'accepted', reason: 'document_bound_to_other_user' } });
      expect(await onboarding(impostor.transactionId)).toMatchObject({ status: 'Failed', failureReason: 'document_bound_to_other_user' });

      const otherBank = await h.rp({ account: `bank-${database.name}` });
      const elsewhere = await startReadId(otherBank);
      expect((await upload(elsewhere.device, elsewhere.transactionId, doc)).status).toBe('Completed');

      // A step-up by the owner with the same passport: approve on the device, read the chip again.
      const stepUp = await rp.post('/reuseid/step-up', { userId: owner.userId, deviceId: owner.deviceId, provider: 'readid' });
      expect(stepUp.status).toBe(200);
      const [operation] = await owner.device.pendingOperations();
      const approved = await owner.device.decide(operation!);
      expect(approved).toMatchObject({ status: 'Pending', stage: 'proofing' });
      const answer = await upload(owner.device, stepUp.body.data.transactionId, doc);
      expect(answer).toMatchObject({ status: 'Completed', readid: { verdict: 'accepted' } });
      expect((await rp.get(`/reuseid/step-up/${stepUp.body.data.transactionId}`)).body.data).toMatchObject({ status: 'Completed', userData: ANNA });
    });

    it('ends the transaction Failed after a bounded number of refused uploads, validation errors included', async () => {
      const { transactionId, device } = await startReadId();
      const valid = await uploadBody(device, transactionId, newPassport(), { withoutAa: true });
      const post = (body: unknown) => refused(device.call('POST', readIdPath(transactionId), body));
      for (let i = 1; i < MAX_FAILED_UPLOADS; i++) {
        const bad = i % 2 ? { ...valid, sod: randomBytes(300).toString('base64') } : { ...valid, dg3: valid.dg1 };
        expect((await post(bad)).status).toBe(422);
      }
      expect(await onboarding(transactionId)).toMatchObject({ status: 'Pending' });
      expect((await post({ ...valid, sod: randomBytes(300).toString('base64') })).status).toBe(422);
      expect(await onboarding(transactionId)).toMatchObject({ status: 'Failed', failureReason: 'too_many_failed_uploads' });
      expect((await post(valid)).status).toBe(409);
    });

    it('answers unreadable, oversized and unsigned uploads with typed errors, never a 500, and leaves the flow Pending', async () => {
      const { transactionId, device } = await startReadId();
      const doc = newPassport();
      const valid = await uploadBody(device, transactionId, doc, { withoutAa: true });
      const post = (body: unknown) => refused(device.call('POST', readIdPath(transactionId), body));

      const garbageSod = await post({ ...valid, sod: randomBytes(300).toString('base64') });
      expect(garbageSod).toMatchObject({ status: 422, body: { invalidParams: [{ name: 'sod' }] } });
      const bigButUnderTheLimit = await post({ ...valid, sod: randomBytes(300).toString('base64'), dg2: randomBytes(1536 * 1024).toString('base64') });
      expect(bigButUnderTheLimit).toMatchObject({ status: 422, body: { invalidParams: [{ name: 'sod' }] } });
      const garbageDg1 = await post({ ...valid, dg1: Buffer.from('hello').toString('base64') });
      expect(garbageDg1).toMatchObject({ status: 422, body: { invalidParams: [{ name: 'dg1' }] } });
      const notBase64 = await post({ ...valid, dg2: '%%%not base64%%%' });
      expect(notBase64).toMatchObject({ status: 422, body: { invalidParams: [{ name: 'dg2' }] } });
      const oversized = await post({ ...valid, dg1: randomBytes(1025).toString('base64') });
      expect(oversized).toMatchObject({ status: 422, body: { invalidParams: [{ name: 'dg1' }] } });
      const unknownField = await post({ ...valid, dg3: valid.dg1 });
      expect(unknownField.status).toBe(422);
      const badChallenge = await post({ ...valid, activeAuthentication: { challenge: 'xyz', signature: 'AAAA' } });
      expect(badChallenge.status).toBe(422);
      const notJson = await h.app.inject({ method: 'POST', url: readIdPath(transactionId), headers: { 'content-type': 'application/json' }, payload: '{' });
      expect(notJson.statusCode).toBe(401);
      const huge = await h.app.inject({
        method: 'POST',
        url: readIdPath(transactionId),
        headers: { 'content-type': 'application/json', authorization: 'ReuseID-Device x' },
        payload: JSON.stringify({ dg2: 'A'.repeat(UPLOAD_BODY_LIMIT) }),
      });
      expect(huge.statusCode).toBe(401); // refused on its header, before its body is read
      const unsigned = await h.app.inject({
        method: 'POST',
        url: readIdPath(transactionId),
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify(valid),
      });
      expect(unsigned.statusCode).toBe(401);

      for (let i = 0; i < 20; i++) {
        const fuzzed = Buffer.from(doc.files['EF_SOD.bin']);
        for (let j = 0; j < 8; j++) fuzzed[Math.floor(Math.random() * fuzzed.length)] = Math.floor(Math.random() * 256);
        const res = await device.call('POST', readIdPath(transactionId), { ...valid, sod: fuzzed.toString('base64') }).then(
          (answer) => ({ status: 200, answer }),
          (error: DeviceApiError) => ({ status: error.status, answer: error.body }),
        );
        expect([200, 422]).toContain(res.status);
        if (res.status === 200) break; // a verdict on a mangled SOD ends the flow (rejected)
      }
    });

    const { 'selfie.jpg': selfieJpeg } = sampleImages();

    it('refuses a selfie that is not a JPEG or PNG, or is too large, with 422 on selfie, and a body over the limit with 413', async () => {
      const { transactionId, device } = await startReadId();
      const valid = await uploadBody(device, transactionId, newPassport(), { withoutAa: true });
      const post = (body: unknown) => refused(device.call('POST', readIdPath(transactionId), body));

      const gif = await post({ ...valid, selfie: Buffer.from('GIF89a\x01\x00\x01\x00').toString('base64') });
      expect(gif).toMatchObject({ status: 422, body: { invalidParams: [{ name: 'selfie', reason: 'must be a JPEG or PNG image' }] } });
      const notBase64 = await post({ ...valid, selfie: '%%%%' });
      expect(notBase64).toMatchObject({ status: 422, body: { invalidParams: [{ name: 'selfie' }] } });
      // One byte over the limit still fits the base64 length bound (base64 rounds up): the decoded size is checked.
      const oneOver = Buffer.concat([selfieJpeg, randomBytes(MAX_SELFIE_BYTES + 1 - selfieJpeg.length)]);
      const tooLarge = await post({ ...valid, selfie: oneOver.toString('base64') });
      expect(tooLarge).toMatchObject({ status: 422, body: { invalidParams: [{ name: 'selfie', reason: `must be at most ${MAX_SELFIE_BYTES} bytes` }] } });
      const wayTooLarge = await post({ ...valid, selfie: randomBytes(MAX_SELFIE_BYTES + 3).toString('base64') });
      expect(wayTooLarge).toMatchObject({ status: 422, body: { invalidParams: [{ name: 'selfie' }] } });
      const overTheBodyLimit = await post({ ...valid, selfie: 'A'.repeat(UPLOAD_BODY_LIMIT) });
      expect(overTheBodyLimit.status).toBe(413);
      expect(await onboarding(transactionId)).toMatchObject({ status: 'Pending' });
      expect(await h.ctx.store.db.selectFrom('readid_attempts').select('attempt').where('transaction_id', '=', transactionId).execute()).toEqual([]);

      // Every field at its limit still fits the body limit: read, and judged on its content (a random DG2), not its size.
      const atLimits = {
        ...valid,
        dg2: randomBytes(2 * 1024 * 1024).toString('base64'),
        selfie: Buffer.concat([selfieJpeg, randomBytes(MAX_SELFIE_BYTES - selfieJpeg.length)]).toString('base64'),
      };
      const status = await device.call('POST', readIdPath(transactionId), atLimits).then(
        () => 200,
        (error: DeviceApiError) => error.status,
      );
      expect([200, 422]).toContain(status);
    });

    it('refuses an upload by another device, and one for a transaction of another provider', async () => {
      const { transactionId } = await startReadId();
      const stranger = await startReadId();
      const foreign = await refused(upload(stranger.device, transactionId, newPassport(), { withoutAa: true }));
      expect(foreign.status).toBe(404);
      const start = await rp.post('/reuseid/onboarding', { provider: 'sandbox' });
      const device = await h.device();
      const activation = await device.activate(start.body.data.activationCode);
      const mismatch = await refused(upload(device, activation.transactionId, newPassport(), { withoutAa: true }));
      expect(mismatch).toMatchObject({ status: 409, body: { code: 'provider_mismatch' } });
    });
  });

  describe(`readid duplicate documents allowed by policy (${database.name})`, () => {
    let h: Harness;
    let rp: Rp;
    beforeAll(async () => {
      h = await createHarness(database, { ...CHIP_ONLY, REUSEID_READID_DUPLICATE_DOCUMENT: 'allow' });
      rp = await h.rp();
    });
    afterAll(() => h.close());

    it('accepts a document bound to another user, keeps its owner, and notes it in the audit log', async () => {
      const doc: GeneratedPassport = newPassport();
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const start = await rp.post('/reuseid/onboarding', { provider: 'readid' });
        const device = await h.device();
        const { transactionId } = await device.activate(start.body.data.activationCode);
        expect((await upload(device, transactionId, doc)).status).toBe('Completed');
        ids.push(start.body.data.userId, transactionId);
      }
      const [firstUser, , , secondTx] = ids;
      const owners = await h.ctx.store.db.selectFrom('readid_documents').select('user_id').execute();
      expect(owners).toEqual([{ user_id: firstUser }]);
      await h.ctx.auditSequencer.sequenceNow();
      const audit = await h.ctx.store.db
        .selectFrom('audit_items')
        .select('event_type')
        .where('reference_id', '=', secondTx!)
        .where('event_type', '=', 'readid.document.duplicate')
        .execute();
      expect(audit).toHaveLength(1);
    });
  });
}

describe('readid trust store', () => {
  it('stops the app at start when REUSEID_TRUST_STORE names a path that does not exist', async () => {
    await expect(createHarness(testDatabases[0]!, { REUSEID_TRUST_STORE: `${trust.dir}/missing` })).rejects.toThrow(/ENOENT/);
  });

  it('trusts only the CSCAs it was given: without REUSEID_TRUST_STORE the test CSCA is unknown', async () => {
    const h = await createHarness(testDatabases[0]!, { REUSEID_READID_SELFIE: 'optional' });
    try {
      const rp = await h.rp();
      const start = await rp.post('/reuseid/onboarding', { provider: 'readid' });
      const device = await h.device();
      const { transactionId } = await device.activate(start.body.data.activationCode);
      const answer = await upload(device, transactionId, passport(trust.csca));
      expect(answer).toMatchObject({ status: 'Failed', readid: { reason: 'chip_verification_failed', checks: { certificateChain: 'FAILED' } } });
    } finally {
      await h.close();
    }
  });
});
