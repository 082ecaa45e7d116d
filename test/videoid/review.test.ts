import { describe, expect, it } from 'vitest';
import { CLAIM_MS, MAX_CAPTURES } from '../../src/proofing/providers/videoid/cases.js';
import { decodeOperationContext } from '../../src/sdk/device.js';
import { testDatabases } from '../support/databases.js';
import { useHarness } from '../support/harness.js';
import { caseIdOf, signedInAgent, upload, useInstantFaces, videoIdTransaction, VERIFIED } from './support.js';

for (const database of testDatabases) {
  describe(`signicatvideoid review by agents (${database.name})`, () => {
    const t = useHarness(database);
    useInstantFaces(t);

    async function captured() {
      const flow = await videoIdTransaction(t.h, t.rp);
      await upload(flow.device, flow.transactionId);
      return { ...flow, caseId: await caseIdOf(t.h, flow.transactionId) };
    }

    async function auditOf(transactionId: string, eventType: string) {
      await t.h.ctx.auditSequencer.sequenceNow();
      const rows = await t.h.ctx.store.db.selectFrom('audit_items').select('body').where('event_type', '=', eventType).execute();
      return rows.map((row) => JSON.parse(row.body)).filter((item) => item.referenceId === transactionId);
    }

    it('approval completes the flow with userData and attributes with provenance, audited with the agent', async () => {
      const { transactionId, userId, caseId } = await captured();
      const { agent, browser } = await signedInAgent(t.h);
      expect((await browser.post(`/console/cases/${caseId}/claim`, {})).status).toBe(303);
      const view = await browser.get(`/console/cases/${caseId}`);
      expect(view.body).toContain('value="JANE"');
      expect(view.body).toContain('value="AB1234567"');
      const approved = await browser.post(`/console/cases/${caseId}/approve`, VERIFIED);
      expect(approved).toMatchObject({ status: 303, headers: { location: '/console/queue?done=approved' } });
      const got = await t.rp.get(`/reuseid/onboarding/${transactionId}`);
      expect(got.body.data).toMatchObject({
        status: 'Completed',
        userData: { firstName: 'JANE', lastName: 'SMITH', dateOfBirth: '1990-01-01', gender: 'F', nationality: 'NOR' },
        // Images reviewed by an agent, with a face comparison that matched: substantial, never high.
        assuranceLevel: 'substantial',
        verification: { document: 'image', cloneDetection: 'not_performed', faceMatch: { score: 1, match: true }, reviewedByAgent: true },
      });
      const user = (await t.h.ctx.users.find(t.h.ctx.store.db, t.rp.accountId, userId))!;
      const attributes = await t.h.ctx.users.readAttributes(t.h.ctx.store.db, user);
      expect(attributes.lastName).toMatchObject({ value: 'SMITH', provider: 'signicatvideoid', transactionId });
      expect(attributes.documentNumber).toMatchObject({ value: 'AB1234567', provider: 'signicatvideoid', transactionId });
      expect(await auditOf(transactionId, 'proofing.decided')).toEqual([
        expect.objectContaining({ data: expect.objectContaining({ outcome: 'accepted', agentId: agent.id }) }),
      ]);
      expect((await browser.post(`/console/cases/${caseId}/approve`, VERIFIED)).status).toBe(409);
    });

    it('re-renders the form with field errors instead of approving bad or expired data', async () => {
      const { transactionId, caseId } = await captured();
      const { browser } = await signedInAgent(t.h);
      await browser.post(`/console/cases/${caseId}/claim`, {});
      const bad = await browser.post(`/console/cases/${caseId}/approve`, { ...VERIFIED, dateOfBirth: '1990-02-31', nationality: 'no' });
      expect(bad.status).toBe(422);
      expect(bad.body).toContain('aria-invalid="true" aria-describedby="field-dateOfBirth-error"');
      const expired = await browser.post(`/console/cases/${caseId}/approve`, { ...VERIFIED, dateOfExpiry: '2001-01-01' });
      expect(expired.status).toBe(422);
      expect(expired.body).toContain('reject it as document_expired');
      expect((await t.rp.get(`/reuseid/onboarding/${transactionId}`)).body.data.status).toBe('Pending');
    });

    it('rejection fails the flow with the reason code, audited with the agent', async () => {
      const { transactionId, caseId } = await captured();
      const { agent, browser } = await signedInAgent(t.h);
      await browser.post(`/console/cases/${caseId}/claim`, {});
      expect((await browser.post(`/console/cases/${caseId}/reject`, { reason: 'not_a_reason' })).status).toBe(422);
      expect((await browser.post(`/console/cases/${caseId}/reject`, { reason: 'face_mismatch' })).status).toBe(303);
      expect((await t.rp.get(`/reuseid/onboarding/${transactionId}`)).body.data).toMatchObject({ status: 'Failed', failureReason: 'face_mismatch' });
      expect(await auditOf(transactionId, 'proofing.decided')).toEqual([
        expect.objectContaining({ data: expect.objectContaining({ outcome: 'rejected', reason: 'face_mismatch', agentId: agent.id }) }),
      ]);
    });

    it('a second agent can neither claim nor decide a case the first has claimed, until the claim lapses', async () => {
      const { transactionId, caseId } = await captured();
      const first = await signedInAgent(t.h);
      const second = await signedInAgent(t.h);
      await first.browser.post(`/console/cases/${caseId}/claim`, {});
      await second.browser.post(`/console/cases/${caseId}/claim`, {});
      const seen = await second.browser.get(`/console/cases/${caseId}`);
      expect(seen.body).toContain(`being reviewed by ${first.agent.email}`);
      expect(seen.body).not.toContain('/evidence/');
      expect((await second.browser.get(`/console/cases/${caseId}/evidence/selfie`)).status).toBe(404);
      expect((await second.browser.post(`/console/cases/${caseId}/reject`, { reason: 'other' })).status).toBe(409);
      expect((await second.browser.post(`/console/cases/${caseId}/approve`, VERIFIED)).status).toBe(409);

      const realTime = t.h.clock.now();
      t.h.clock.advance(CLAIM_MS + 1000);
      t.rp = await t.h.rp({ account: t.rp.accountId }); // the RP's access token has lapsed as well
      expect((await first.browser.get(`/console/cases/${caseId}/evidence/selfie`)).status).toBe(404);
      await second.browser.post(`/console/cases/${caseId}/claim`, {});
      expect((await first.browser.post(`/console/cases/${caseId}/approve`, VERIFIED)).status).toBe(409);
      expect((await second.browser.get(`/console/cases/${caseId}/evidence/selfie`)).status).toBe(200);
      expect((await second.browser.post(`/console/cases/${caseId}/reject`, { reason: 'other' })).status).toBe(303);
      expect((await t.rp.get(`/reuseid/onboarding/${transactionId}`)).body.data).toMatchObject({ status: 'Failed', failureReason: 'other' });
      t.h.clock.set(realTime); // devices sign with the real time: later tests need the server clock back
    });

    it('asks the device for new captures at most MAX_CAPTURES times in all, then rejects', async () => {
      const { device, transactionId } = await captured();
      const { agent, browser } = await signedInAgent(t.h);
      for (let attempt = 1; attempt < MAX_CAPTURES; attempt++) {
        const caseId = await caseIdOf(t.h, transactionId);
        await browser.post(`/console/cases/${caseId}/claim`, {});
        expect((await browser.post(`/console/cases/${caseId}/request-capture`, { reason: 'document_unreadable' })).headers.location).toBe(
          '/console/queue?done=capture-requested',
        );
        const view = await device.transaction(transactionId);
        expect(view).toMatchObject({ status: 'Pending', stage: 'proofing' });
        expect(decodeOperationContext(view.post_operation_context!).capture).toMatchObject({
          attempt: attempt + 1,
          maxAttempts: MAX_CAPTURES,
          resubmissionRequested: { reason: 'document_unreadable' },
        });
        expect((await t.rp.get(`/reuseid/onboarding/${transactionId}`)).body.data).toMatchObject({ status: 'Pending', stage: 'proofing' });
        await upload(device, transactionId);
      }
      const last = await caseIdOf(t.h, transactionId);
      await browser.post(`/console/cases/${last}/claim`, {});
      expect((await browser.get(`/console/cases/${last}`)).body).not.toContain('Request new capture');
      expect((await browser.post(`/console/cases/${last}/request-capture`, { reason: 'document_unreadable' })).headers.location).toBe(
        '/console/queue?done=rejected',
      );
      expect((await t.rp.get(`/reuseid/onboarding/${transactionId}`)).body.data).toMatchObject({ status: 'Failed', failureReason: 'document_unreadable' });
      expect(await auditOf(transactionId, 'videoid.capture.requested')).toHaveLength(MAX_CAPTURES - 1);
      expect((await auditOf(transactionId, 'videoid.capture.requested'))[0].data).toMatchObject({ agentId: agent.id });
    });

    it('lists only cases still waiting for review in the queue', async () => {
      const { caseId } = await captured();
      const decided = await captured();
      await t.h.ctx.store.db
        .updateTable('transactions')
        .set({ expires_at: t.h.clock.now() - 1 })
        .where('id', '=', decided.transactionId)
        .execute();
      const { browser } = await signedInAgent(t.h);
      const queue = await browser.get('/console/queue');
      expect(queue.body).toContain(`/console/cases/${caseId}/claim`);
      expect(queue.body).not.toContain(decided.caseId);
    });
  });
}
