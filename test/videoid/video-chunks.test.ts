import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CHUNK_BYTES } from '../../src/dossier/evidence-chunks.js';
import { deleteTransactionEvidence } from '../../src/dossier/evidence.js';
import { sweepExpired } from '../../src/flows/expiry.js';
import { DeviceClient } from '../../src/sdk/device.js';
import { testDatabases } from '../support/databases.js';
import { useHarness } from '../support/harness.js';
import { b64, captureBody, caseIdOf, failure, signedInAgent, upload, useInstantFaces, videoIdTransaction } from './support.js';

/** A WebM header and random bytes: two full chunks and a partial third. */
const video = () =>
  Buffer.concat([
    Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84]),
    Buffer.from('webm'),
    randomBytes(2 * CHUNK_BYTES + 1000),
  ]);

for (const database of testDatabases) {
  describe(`VideoID video stored in sealed chunks (${database.name})`, () => {
    const t = useHarness(database);
    useInstantFaces(t);
    const db = () => t.h.ctx.store.db;
    const staged = async () => (await db().selectFrom('evidence_chunks').select('upload_id').where('evidence_id', 'is', null).execute()).length;

    async function uploadedVideo() {
      const content = video();
      const tx = await videoIdTransaction(t.h, t.rp);
      expect(await upload(tx.device, tx.transactionId, captureBody({ video: b64(content) }))).toMatchObject({ stage: 'review' });
      const { proofing_id } = await db().selectFrom('transactions').select('proofing_id').where('id', '=', tx.transactionId).executeTakeFirstOrThrow();
      const row = await db()
        .selectFrom('evidence')
        .selectAll()
        .where('kind', '=', 'videoid.video')
        .where('proofing_id', '=', proofing_id!)
        .executeTakeFirstOrThrow();
      return { ...tx, content, row };
    }

    it('uploads a video through the route into chunks that round-trip byte-exact through the console and the export', async () => {
      const { content, row, transactionId, userId } = await uploadedVideo();
      expect(row).toMatchObject({ content_sealed: '', media_type: 'video/webm' });
      expect(Number(row.chunk_count)).toBe(3);
      expect(Number(row.content_size)).toBe(content.length);
      const chunks = await db().selectFrom('evidence_chunks').select(['idx', 'content_sealed']).where('evidence_id', '=', row.id).orderBy('idx').execute();
      expect(chunks.map((c) => Number(c.idx))).toEqual([0, 1, 2]);
      expect(await staged()).toBe(0);

      const { browser } = await signedInAgent(t.h);
      const caseId = await caseIdOf(t.h, transactionId);
      expect((await browser.post(`/console/cases/${caseId}/claim`, {})).status).toBe(303);
      const cookie = [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
      const shown = await t.h.app.inject({ method: 'GET', url: `/console/cases/${caseId}/evidence/video`, headers: { cookie } });
      expect(shown.statusCode).toBe(200);
      expect(shown.headers['content-type']).toBe('video/webm');
      expect(shown.rawPayload.equals(content)).toBe(true);

      const exported = (await t.rp.get(`/reuseid/users/${userId}/export?include=evidence`)).body.data;
      const item = exported.evidence.find((e: { kind: string }) => e.kind === 'videoid.video');
      expect(item.size).toBe(content.length);
      expect(Buffer.from(item.content, 'base64').equals(content)).toBe(true);
    });

    it('leaves no chunk behind when the body does not match bh, or the capture is refused', async () => {
      const { device, transactionId } = await videoIdTransaction(t.h, t.rp);
      const before = (await db().selectFrom('evidence_chunks').select('upload_id').execute()).length;
      // Signs the body it is given, then sends one whose video differs in one character.
      const tampering = new DeviceClient(device.state, async (url, init) => {
        const body = String(init.body).replace('"video":"GkXf', '"video":"HkXf');
        const response = await t.h.app.inject({
          method: init.method as 'POST',
          url: url.slice(device.state.serverUrl.length),
          headers: init.headers,
          payload: body,
        });
        return { status: response.statusCode, text: async () => response.body };
      });
      const tampered = await failure(upload(tampering, transactionId, captureBody({ video: b64(video()) })));
      expect(tampered).toMatchObject({ status: 401, body: { code: 'invalid_device_signature' } });
      expect(tampered.body.detail).toContain('bh does not match');
      const refused = await failure(upload(device, transactionId, captureBody({ video: b64(video()), docType: 999 })));
      expect(refused.status).toBe(422);
      expect((await db().selectFrom('evidence_chunks').select('upload_id').execute()).length).toBe(before);
      expect(await staged()).toBe(0);
    });

    it('refuses to open a video whose chunks were swapped or truncated in the database', async () => {
      const { row, userId } = await uploadedVideo();
      const user = await t.h.ctx.users.find(
        db(),
        (await db().selectFrom('users').select('account_id').where('id', '=', userId).executeTakeFirstOrThrow()).account_id,
        userId,
      );
      const cipher = t.h.ctx.users.cipher(user!);
      const open = () => t.h.ctx.evidence.find(db(), cipher, { dossierId: row.dossier_id, id: row.id });
      expect((await open())?.content.length).toBe(Number(row.content_size));
      const chunk = async (idx: number) =>
        (await db().selectFrom('evidence_chunks').select('content_sealed').where('evidence_id', '=', row.id).where('idx', '=', idx).executeTakeFirstOrThrow())
          .content_sealed;
      const put = (idx: number, sealed: string) =>
        db().updateTable('evidence_chunks').set({ content_sealed: sealed }).where('evidence_id', '=', row.id).where('idx', '=', idx).execute();
      const [first, second] = [await chunk(0), await chunk(1)];

      await put(0, second);
      await put(1, first);
      await expect(open()).rejects.toThrow();
      await put(0, first);
      await put(1, second);
      expect(await open()).not.toBeNull();

      // Dropping the last chunk, even with the count lowered to match: the new last one was not sealed as last.
      await db().deleteFrom('evidence_chunks').where('evidence_id', '=', row.id).where('idx', '=', 2).execute();
      await expect(open()).rejects.toThrow();
      await db()
        .updateTable('evidence')
        .set({ chunk_count: 2, content_size: 2 * CHUNK_BYTES })
        .where('id', '=', row.id)
        .execute();
      await expect(open()).rejects.toThrow();

      // A chunk of another video, moved into this one's place.
      const other = await uploadedVideo();
      const foreign = (
        await db().selectFrom('evidence_chunks').select('content_sealed').where('evidence_id', '=', other.row.id).where('idx', '=', 0).executeTakeFirstOrThrow()
      ).content_sealed;
      await put(0, foreign);
      await expect(t.h.ctx.evidence.find(db(), cipher, { dossierId: row.dossier_id, id: row.id })).rejects.toThrow();
    });

    it("goes with its evidence item: deleting a transaction's evidence (retention) leaves no chunk behind", async () => {
      const { row, transactionId } = await uploadedVideo();
      const chunksOf = async (id: string) => (await db().selectFrom('evidence_chunks').select('idx').where('evidence_id', '=', id).execute()).length;
      expect(await chunksOf(row.id)).toBe(3);
      expect(await t.h.ctx.store.write((trx) => deleteTransactionEvidence(trx, transactionId))).toBeGreaterThan(0);
      expect(await chunksOf(row.id)).toBe(0);
    });

    it('deletes staged chunks a crash left behind once they are an hour old, never adopted ones', async () => {
      const { row, userId } = await uploadedVideo();
      const accountId = (await db().selectFrom('users').select('account_id').where('id', '=', userId).executeTakeFirstOrThrow()).account_id;
      const user = await t.h.ctx.users.find(db(), accountId, userId);
      const writer = t.h.ctx.evidence.beginUpload(db(), t.h.ctx.users.cipher(user!));
      await writer.write(randomBytes(CHUNK_BYTES + 10));
      expect(await staged()).toBe(1);
      await sweepExpired(t.h.ctx);
      expect(await staged()).toBe(1);
      t.h.clock.advance(61 * 60 * 1000);
      await sweepExpired(t.h.ctx);
      expect(await staged()).toBe(0);
      expect((await db().selectFrom('evidence_chunks').select('idx').where('evidence_id', '=', row.id).execute()).length).toBe(3);
    });
  });
}
