import { describe, expect, it, vi } from 'vitest';
import { buildMrz } from '../../src/icao/mrz.js';
import { CAPTURE_BODY_LIMIT, MAX_IMAGE_BYTES } from '../../src/proofing/providers/videoid/capture.js';
import { ReviewCases } from '../../src/proofing/providers/videoid/cases.js';
import { decodeOperationContext } from '../../src/sdk/device.js';
import { errors } from '../../src/shared/errors.js';
import { testDatabases } from '../support/databases.js';
import { useHarness } from '../support/harness.js';
import { b64, captureBody, failure, images, upload, useInstantFaces, videoIdTransaction } from './support.js';

const PNG = images['document-front.png'];
const JPEG = images['selfie.jpg'];
const WEBM = Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84]), Buffer.from('webm'), Buffer.alloc(64)]);
const MP4 = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom'), Buffer.alloc(64)]);
const GIF = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1');

/** JANE SMITH's MRZ on a passport (TD3) or an ID card (TD1). */
const janeMrz = (format: 'TD1' | 'TD3', documentCode: string, documentNumber: string) =>
  buildMrz({
    format,
    documentCode,
    issuingState: 'NOR',
    documentNumber,
    nationality: 'NOR',
    lastName: 'SMITH',
    firstName: 'JANE',
    dateOfBirth: '1990-01-01',
    dateOfExpiry: '2031-06-30',
    sex: 'F',
  });

for (const database of testDatabases) {
  describe(`signicatvideoid capture upload (${database.name})`, () => {
    const t = useHarness(database);
    useInstantFaces(t);

    it('accepts a capture, seals it in the dossier and moves the transaction to review (still Pending)', async () => {
      const { device, transactionId } = await videoIdTransaction(t.h, t.rp);
      const before = decodeOperationContext((await device.transaction(transactionId)).post_operation_context!);
      expect(before).toMatchObject({ provider: 'signicatvideoid', processType: 'high', capture: { docTypes: [138, 123], attempt: 1, maxAttempts: 3 } });
      const result = await upload(device, transactionId, captureBody({ documentBack: b64(PNG) }));
      expect(result).toMatchObject({ status: 'Pending', stage: 'review' });
      expect((await t.rp.get(`/reuseid/onboarding/${transactionId}`)).body.data).toMatchObject({ status: 'Pending', stage: 'review' });
      const evidence = await t.h.ctx.store.db.selectFrom('evidence').selectAll().execute();
      const mine = evidence.filter((row) => row.kind.startsWith('videoid.'));
      expect(mine.map((row) => [row.kind, row.media_type]).sort()).toEqual(
        expect.arrayContaining([
          ['videoid.documentFront', 'image/png'],
          ['videoid.documentBack', 'image/png'],
          ['videoid.selfie', 'image/jpeg'],
        ]),
      );
      for (const row of mine) expect(row.content_sealed).not.toContain(PNG.subarray(0, 32).toString('base64').slice(0, 20));
      const again = await failure(upload(device, transactionId));
      expect(again).toMatchObject({ status: 409, body: { code: 'capture_not_expected' } });
    });

    it('refuses an upload while the face matcher is busy, storing nothing, so that the device sends it again', async () => {
      const { device, transactionId } = await videoIdTransaction(t.h, t.rp);
      const evidenceCount = async () => (await t.h.ctx.store.db.selectFrom('evidence').select('id').execute()).length;
      const before = await evidenceCount();
      vi.mocked(t.h.ctx.faces.template).mockRejectedValueOnce(errors.faceMatcherBusy(2));
      const busy = await failure(upload(device, transactionId));
      expect(busy).toMatchObject({ status: 503, body: { code: 'face_matcher_busy' } });
      expect(await evidenceCount()).toBe(before);
      expect(await t.h.ctx.store.db.selectFrom('videoid_cases').select('id').where('transaction_id', '=', transactionId).execute()).toEqual([]);
      expect((await t.rp.get(`/reuseid/onboarding/${transactionId}`)).body.data).toMatchObject({ status: 'Pending', stage: 'proofing' });
      expect(await upload(device, transactionId)).toMatchObject({ stage: 'review' });
    });

    it('detects content types from the bytes, whatever they look like otherwise', async () => {
      const { device, transactionId } = await videoIdTransaction(t.h, t.rp);
      const bad = await failure(
        upload(device, transactionId, captureBody({ selfie: b64(GIF), documentFront: b64(Buffer.from('not an image at all')), video: b64(PNG) })),
      );
      expect(bad.status).toBe(422);
      expect(bad.body.invalidParams).toEqual(
        expect.arrayContaining([
          { name: 'selfie', reason: 'must be a JPEG or PNG image' },
          { name: 'documentFront', reason: 'must be a JPEG or PNG image' },
          { name: 'video', reason: 'must be a WebM or MP4 video' },
        ]),
      );
      expect(await upload(device, transactionId, captureBody({ documentFront: b64(JPEG), selfie: b64(PNG), video: b64(WEBM) }))).toMatchObject({
        stage: 'review',
      });
      const types = await t.h.ctx.store.db
        .selectFrom('evidence')
        .select(['kind', 'media_type'])
        .where(
          'proofing_id',
          '=',
          (await t.h.ctx.store.db.selectFrom('transactions').select('proofing_id').where('id', '=', transactionId).executeTakeFirstOrThrow()).proofing_id!,
        )
        .execute();
      expect(Object.fromEntries(types.map((t) => [t.kind, t.media_type]))).toEqual({
        'videoid.documentFront': 'image/jpeg',
        'videoid.selfie': 'image/png',
        'videoid.video': 'video/webm',
        // The automated face comparison, kept as evidence beside the images.
        'videoid.faceMatch': 'application/json',
      });
      const second = await videoIdTransaction(t.h, t.rp);
      expect(await upload(second.device, second.transactionId, captureBody({ video: b64(MP4) }))).toMatchObject({ stage: 'review' });
    });

    it('bounds each item and the whole body', async () => {
      const { device, transactionId } = await videoIdTransaction(t.h, t.rp);
      const tooBig = Buffer.concat([PNG, Buffer.alloc(MAX_IMAGE_BYTES)]);
      const res = await failure(upload(device, transactionId, captureBody({ documentFront: b64(tooBig) })));
      expect(res.status).toBe(422);
      expect(res.body.invalidParams).toEqual([{ name: 'documentFront', reason: `must be at most ${MAX_IMAGE_BYTES} bytes` }]);
      const huge = await failure(upload(device, transactionId, captureBody({ padding: 'A'.repeat(CAPTURE_BODY_LIMIT) })));
      expect(huge).toMatchObject({ status: 413, body: { code: 'payload_too_large' } });
      const unsigned = await t.h.app.inject({
        method: 'POST',
        url: `/device/v1/transactions/${transactionId}/proofing/signicatvideoid`,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify(captureBody()),
      });
      expect(unsigned.statusCode).toBe(401);
    });

    it('allows only the document types of the transaction: docTypes, else docType, else any', async () => {
      const listed = await videoIdTransaction(t.h, t.rp, { docTypes: [138, 123], defaultId: 138 });
      const refused = await failure(upload(listed.device, listed.transactionId, captureBody({ docType: 999 })));
      expect(refused).toMatchObject({
        status: 422,
        body: { invalidParams: [{ name: 'docType', reason: 'not allowed for this transaction (allowed: 138, 123)' }] },
      });
      expect(await upload(listed.device, listed.transactionId, captureBody({ docType: 123 }))).toMatchObject({ stage: 'review' });
      const single = await videoIdTransaction(t.h, t.rp, { docType: 138 });
      expect((await failure(upload(single.device, single.transactionId, captureBody({ docType: 123 })))).status).toBe(422);
      const any = await videoIdTransaction(t.h, t.rp, {});
      expect((await failure(upload(any.device, any.transactionId, captureBody({ docType: 0 })))).status).toBe(422);
      expect(await upload(any.device, any.transactionId, captureBody({ docType: 4711 }))).toMatchObject({ stage: 'review' });
    });

    it('validates the MRZ check digits and pre-fills the review from it', async () => {
      const { device, transactionId } = await videoIdTransaction(t.h, t.rp);
      const [line1, line2] = janeMrz('TD3', 'P', 'AB1234567');
      const tampered = `${line1}\n${line2!.slice(0, 13)}900102${line2!.slice(19)}`; // date of birth changed, check digit kept
      const res = await failure(upload(device, transactionId, captureBody({ mrz: tampered })));
      expect(res.status).toBe(422);
      expect(res.body.invalidParams).toEqual([{ name: 'mrz', reason: 'check digit mismatch: dateOfBirth, composite' }]);
      expect((await failure(upload(device, transactionId, captureBody({ mrz: 'P<NOR' })))).body.invalidParams[0].name).toBe('mrz');
      const card = janeMrz('TD1', 'ID', 'X12345678').join('\n');
      expect((await failure(upload(device, transactionId, captureBody({ mrz: card })))).body.invalidParams).toEqual([
        { name: 'documentBack', reason: 'required for an ID card (TD1 MRZ)' },
      ]);
      expect(await upload(device, transactionId, captureBody({ mrz: card, documentBack: b64(PNG) }))).toMatchObject({ stage: 'review' });
      const [reviewCase] = await t.h.ctx.store.db.selectFrom('videoid_cases').selectAll().where('transaction_id', '=', transactionId).execute();
      const cases = new ReviewCases(t.h.ctx);
      expect(await cases.prefill((await cases.find(reviewCase!.id, { id: 'test', accounts: 'all' }))!)).toMatchObject({
        format: 'TD1',
        firstName: 'JANE',
        lastName: 'SMITH',
        dateOfBirth: '1990-01-01',
        gender: 'F',
        nationality: 'NOR',
        documentNumber: 'X12345678',
        dateOfExpiry: '2031-06-30',
      });
    });

    it('lets the sandbox provider stand in for signicatvideoid in sandbox mode', async () => {
      const { device, transactionId } = await videoIdTransaction(t.h, t.rp);
      const identity = { firstName: 'JANE', lastName: 'SMITH', dateOfBirth: '1990-01-01', gender: 'F', nationality: 'NOR' };
      const done = await device.call('POST', `/device/v1/transactions/${transactionId}/proofing/sandbox`, { outcome: 'accepted', identity });
      expect(done).toMatchObject({ status: 'Completed' });
    });

    it('refuses a capture for a transaction of another provider', async () => {
      const start = await t.rp.post('/reuseid/onboarding', { provider: 'readid' });
      const device = await t.h.device();
      const { transactionId } = await device.activate(start.body.data.activationCode);
      expect(await failure(upload(device, transactionId))).toMatchObject({ status: 409, body: { code: 'provider_mismatch' } });
    });
  });
}
