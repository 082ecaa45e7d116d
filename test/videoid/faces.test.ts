import { describe, expect, it } from 'vitest';
import { type SampleImages, sampleMrz, samplePersonImages } from '../../src/testing/media/sample-images.js';
import { testDatabases } from '../support/databases.js';
import { useHarness } from '../support/harness.js';
import { b64, caseIdOf, signedInAgent, upload, videoIdTransaction, VERIFIED } from './support.js';

/**
 * Face matching in VideoID with the real matcher and real sample people: the document front carries one person's
 * document photo, the selfie is that person's or another's. Each comparison takes about a second here, so every
 * upload is used for as much as it can show (about ten face extractions per database).
 */
const FACE_TEST = { timeout: 180_000 };

const [holder, stranger] = await Promise.all([samplePersonImages(1), samplePersonImages(2)]);

/** A capture with one person's document and a selfie that may be someone else's. */
const capture = (document: SampleImages, selfie: SampleImages) => ({
  docType: 138,
  documentFront: b64(document['document-front.png']),
  selfie: b64(selfie['selfie.jpg']),
  mrz: sampleMrz(),
});

/** The queue's row of a case (cases are listed by the first 8 characters of their id). */
function queueRow(page: string, caseId: string): string {
  const row = page.split('<tr>').find((candidate) => candidate.includes(caseId.slice(0, 8)));
  if (!row) throw new Error(`case ${caseId} is not in the queue`);
  return row;
}

const SCORE = /<dt>Score<\/dt><dd class="mono">([01]\.\d{4})<\/dd>/g;

for (const database of testDatabases) {
  describe(`signicatvideoid face matching (${database.name})`, () => {
    const t = useHarness(database);
    /** The user the first test enrols, for the step-ups. */
    let enrolled: Awaited<ReturnType<typeof videoIdTransaction>> | undefined;

    async function reviewed(transactionId: string) {
      const caseId = await caseIdOf(t.h, transactionId);
      const agent = await signedInAgent(t.h);
      const row = queueRow((await agent.browser.get('/console/queue')).body, caseId);
      expect((await agent.browser.post(`/console/cases/${caseId}/claim`, {})).status).toBe(303);
      const page = (await agent.browser.get(`/console/cases/${caseId}`)).body;
      return { caseId, row, page, ...agent };
    }

    async function attributesOf(userId: string) {
      const user = (await t.h.ctx.users.find(t.h.ctx.store.db, t.rp.accountId, userId))!;
      return { user, attributes: await t.h.ctx.users.readAttributes(t.h.ctx.store.db, user) };
    }

    async function videoIdStepUp(document: SampleImages, selfie: SampleImages) {
      const user = enrolled!;
      const started = await t.rp.post('/reuseid/step-up', { userId: user.userId, deviceId: user.deviceId, provider: 'signicatvideoid' });
      expect(started.status).toBe(200);
      const [operation] = await user.device.pendingOperations();
      await user.device.decide(operation!);
      await upload(user.device, operation!.transactionId, capture(document, selfie));
      return operation!.transactionId;
    }

    it(
      'shows the document and the selfie of the same person with a matching score, unflagged; approval is substantial and enrols the selfie',
      FACE_TEST,
      async () => {
        const flow = await videoIdTransaction(t.h, t.rp);
        await upload(flow.device, flow.transactionId, capture(holder, holder));
        const { row, page, browser, caseId } = await reviewed(flow.transactionId);
        expect(row).toContain('Match');
        expect(row).not.toContain('class="flag"');
        expect(page).toContain('Automated aid only');
        expect(page).toContain(`src="/console/cases/${caseId}/evidence/documentFront"`);
        const [score] = [...page.matchAll(SCORE)].map((m) => Number(m[1]));
        expect(score).toBeGreaterThanOrEqual(t.h.ctx.faces.threshold);
        expect(page).toContain(`<dt>Threshold</dt><dd class="mono">${t.h.ctx.faces.threshold}</dd>`);
        expect(page).toContain('<dd><strong>Match</strong></dd>');
        expect(page).not.toContain('Enrolled person');

        expect((await browser.post(`/console/cases/${caseId}/approve`, VERIFIED)).status).toBe(303);
        const data = (await t.rp.get(`/reuseid/onboarding/${flow.transactionId}`)).body.data;
        expect(data).toMatchObject({
          status: 'Completed',
          assuranceLevel: 'substantial',
          verification: {
            document: 'image',
            faceMatch: { score, threshold: t.h.ctx.faces.threshold, match: true, model: t.h.ctx.faces.model },
            reviewedByAgent: true,
          },
        });
        // The selfie the agent approved is the user's reference face, with its photo for later step-ups.
        const { user } = await attributesOf(flow.userId);
        const reference = await t.h.ctx.referenceFaces.find(t.h.ctx.store.db, user, t.h.ctx.faces.model);
        expect(reference).toMatchObject({
          provenance: { provider: 'signicatvideoid', transactionId: flow.transactionId },
          photo: { mediaType: 'image/jpeg', content: holder['selfie.jpg'] },
        });
        // The case keeps the results, sealed: no score in clear.
        const stored = await t.h.ctx.store.db.selectFrom('videoid_cases').selectAll().where('id', '=', caseId).executeTakeFirstOrThrow();
        expect(stored).toMatchObject({ face_decision: 'match', enrolled_face_decision: null });
        expect(stored.faces_sealed).not.toContain(String(score));
        enrolled = flow;
      },
    );

    it("flags another person's selfie as a mismatch in the queue; the agent may still approve, at assurance level low", FACE_TEST, async () => {
      const flow = await videoIdTransaction(t.h, t.rp);
      await upload(flow.device, flow.transactionId, capture(holder, stranger));
      const { row, page, browser, caseId } = await reviewed(flow.transactionId);
      expect(row).toContain('<strong class="flag">Face mismatch</strong>');
      const [score] = [...page.matchAll(SCORE)].map((m) => Number(m[1]));
      expect(score).toBeLessThan(t.h.ctx.faces.threshold);
      expect(page).toContain('<dd><strong>Mismatch</strong></dd>');

      expect((await browser.post(`/console/cases/${caseId}/approve`, VERIFIED)).status).toBe(303);
      expect((await t.rp.get(`/reuseid/onboarding/${flow.transactionId}`)).body.data).toMatchObject({
        status: 'Completed',
        assuranceLevel: 'low',
        verification: { document: 'image', faceMatch: { score, match: false }, reviewedByAgent: true },
      });
    });

    it('shows the enrolled identity and face on a step-up, with the selfie compared with that face', FACE_TEST, async () => {
      const transactionId = await videoIdStepUp(holder, holder);
      const { row, page, browser, caseId } = await reviewed(transactionId);
      expect(row).not.toContain('class="flag"');
      expect(page).toContain('Enrolled person (step-up)');
      expect(page).toContain('<dt>Date of birth</dt><dd>1990-01-01</dd>');
      expect(page).toContain('<dt>Last name</dt><dd>SMITH</dd>');
      expect(page).toContain(`src="/console/cases/${caseId}/enrolled-face"`);
      const scores = [...page.matchAll(SCORE)].map((m) => Number(m[1]));
      expect(scores).toHaveLength(2);
      for (const score of scores) expect(score).toBeGreaterThanOrEqual(t.h.ctx.faces.threshold);

      // The enrolled face is served like the case images: to the agent holding the claim, never cached.
      const photo = await t.h.app.inject({ url: `/console/cases/${caseId}/enrolled-face`, headers: { cookie: cookieOf(browser.cookies) } });
      expect(photo.statusCode).toBe(200);
      expect(photo.headers['cache-control']).toBe('no-store');
      expect(photo.rawPayload.equals(holder['selfie.jpg'])).toBe(true);
      const other = await signedInAgent(t.h);
      expect((await other.browser.get(`/console/cases/${caseId}/enrolled-face`)).status).toBe(404);

      expect((await browser.post(`/console/cases/${caseId}/approve`, VERIFIED)).status).toBe(303);
      expect((await t.rp.get(`/reuseid/step-up/${transactionId}`)).body.data).toMatchObject({ status: 'Completed', assuranceLevel: 'substantial' });
      // A step-up never replaces the enrolled reference face.
      const { user } = await attributesOf(enrolled!.userId);
      expect(await t.h.ctx.referenceFaces.find(t.h.ctx.store.db, user, t.h.ctx.faces.model)).toMatchObject({
        provenance: { transactionId: enrolled!.transactionId },
      });
    });

    it("fails a step-up approved with another person's selfie than the enrolled one as identity_mismatch, the identity unchanged", FACE_TEST, async () => {
      const before = (await attributesOf(enrolled!.userId)).attributes;
      const transactionId = await videoIdStepUp(holder, stranger);
      const { row, page, browser, caseId } = await reviewed(transactionId);
      expect(row).toContain('<strong class="flag">Enrolled face mismatch</strong>');
      expect(page).toContain('Enrolled person (step-up)');

      expect((await browser.post(`/console/cases/${caseId}/approve`, { ...VERIFIED, documentNumber: 'CD7654321' })).status).toBe(303);
      expect((await t.rp.get(`/reuseid/step-up/${transactionId}`)).body.data).toMatchObject({ status: 'Failed', failureReason: 'identity_mismatch' });
      expect((await attributesOf(enrolled!.userId)).attributes).toEqual(before);
    });
  });
}

function cookieOf(cookies: Map<string, string>): string {
  return [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
}
