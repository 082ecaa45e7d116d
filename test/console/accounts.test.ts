import { Migrator, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { AgentStore } from '../../src/console/agents.js';
import { migrateToLatest } from '../../src/store/database.js';
import { migrations } from '../../src/store/migrations/index.js';
import { testDatabases } from '../support/databases.js';
import { useHarness, type Rp } from '../support/harness.js';
import { caseIdOf, type ConsoleBrowser, signedInAgent, upload, useInstantFaces, videoIdTransaction, VERIFIED } from '../videoid/support.js';

/**
 * Review agents per account: an agent sees, claims and decides only its accounts' cases. Another account's case is
 * answered as one that does not exist (404), by URL and by form, whatever the agent tries.
 */
for (const database of testDatabases) {
  describe(`agents per account (${database.name})`, () => {
    const t = useHarness(database);
    useInstantFaces(t);

    async function captured(rp: Rp) {
      const flow = await videoIdTransaction(t.h, rp);
      await upload(flow.device, flow.transactionId);
      return { ...flow, caseId: await caseIdOf(t.h, flow.transactionId) };
    }

    /** Every page, image and form of a case, as an agent may try them. */
    function everyRequest(browser: ConsoleBrowser, caseId: string) {
      const base = `/console/cases/${caseId}`;
      return {
        byUrl: [base, `${base}/evidence/documentFront`, `${base}/evidence/selfie`, `${base}/enrolled-face`].map((path) => () => browser.get(path)),
        byForm: [
          () => browser.post(`${base}/claim`, {}),
          () => browser.post(`${base}/release`, {}),
          () => browser.post(`${base}/approve`, VERIFIED),
          () => browser.post(`${base}/reject`, { reason: 'other' }),
          () => browser.post(`${base}/request-capture`, { reason: 'document_unreadable' }),
        ],
      };
    }

    async function statuses(requests: (() => Promise<{ status: number }>)[]): Promise<number[]> {
      const answers: number[] = [];
      for (const request of requests) answers.push((await request()).status);
      return answers;
    }

    const caseRow = (caseId: string) =>
      t.h.ctx.store.db.selectFrom('videoid_cases').select(['status', 'claimed_by']).where('id', '=', caseId).executeTakeFirstOrThrow();

    it("an agent of account A never sees or acts on account B's case, by URL or by form; an all-accounts agent sees both", async () => {
      const rpB = await t.h.rp({ account: 'agents-bank-b' });
      const a = await captured(t.rp);
      const b = await captured(rpB);
      const agentA = await signedInAgent(t.h, [t.rp.accountId]);

      const queue = (await agentA.browser.get('/console/queue')).body;
      expect(queue).toContain(`/console/cases/${a.caseId}/claim`);
      expect(queue).not.toContain(b.caseId);

      const requests = everyRequest(agentA.browser, b.caseId);
      expect(await statuses(requests.byUrl)).toEqual([404, 404, 404, 404]);
      expect(await statuses(requests.byForm)).toEqual([404, 404, 404, 404, 404]);
      expect(await caseRow(b.caseId)).toEqual({ status: 'open', claimed_by: null });
      expect((await rpB.get(`/reuseid/onboarding/${b.transactionId}`)).body.data).toMatchObject({ status: 'Pending' });

      // The same 404 as for a case that does not exist: nothing tells the agent that B's case is there.
      const page = await agentA.browser.get(`/console/cases/${b.caseId}`);
      expect(page.body).toBe((await agentA.browser.get('/console/cases/no-such-case')).body);

      const everyone = await signedInAgent(t.h, 'all');
      const both = (await everyone.browser.get('/console/queue')).body;
      expect(both).toContain(`/console/cases/${a.caseId}/claim`);
      expect(both).toContain(`/console/cases/${b.caseId}/claim`);
      expect((await everyone.browser.post(`/console/cases/${b.caseId}/claim`, {})).status).toBe(303);
      expect((await everyone.browser.get(`/console/cases/${b.caseId}`)).body).toContain('value="JANE"');
      expect((await everyone.browser.get(`/console/cases/${b.caseId}/evidence/selfie`)).status).toBe(200);

      // Agent A's own case still works as before.
      expect((await agentA.browser.post(`/console/cases/${a.caseId}/claim`, {})).status).toBe(303);
      expect((await agentA.browser.post(`/console/cases/${a.caseId}/approve`, VERIFIED)).status).toBe(303);
      expect((await t.rp.get(`/reuseid/onboarding/${a.transactionId}`)).body.data).toMatchObject({ status: 'Completed' });
    });

    it("a change of accounts applies at the agent's next request, to a claim it holds too, enrolled face included", async () => {
      const rpB = await t.h.rp({ account: 'agents-bank-c' });
      // A user of account B onboarded and approved, then stepping up: a case with an enrolled face to show.
      const onboarding = await captured(rpB);
      const reviewer = await signedInAgent(t.h, [rpB.accountId]);
      await reviewer.browser.post(`/console/cases/${onboarding.caseId}/claim`, {});
      expect((await reviewer.browser.post(`/console/cases/${onboarding.caseId}/approve`, VERIFIED)).status).toBe(303);
      const started = await rpB.post('/reuseid/step-up', { userId: onboarding.userId, deviceId: onboarding.deviceId, provider: 'signicatvideoid' });
      expect(started.status).toBe(200);
      const [operation] = await onboarding.device.pendingOperations();
      await onboarding.device.decide(operation!);
      await upload(onboarding.device, operation!.transactionId);
      const stepUpCase = await caseIdOf(t.h, operation!.transactionId);

      expect((await reviewer.browser.post(`/console/cases/${stepUpCase}/claim`, {})).status).toBe(303);
      const requests = everyRequest(reviewer.browser, stepUpCase);
      expect(await statuses(requests.byUrl)).toEqual([200, 200, 200, 200]);

      const store = new AgentStore(t.h.ctx);
      await store.setAccounts(t.h.ctx.store.db, reviewer.agent.id, [t.rp.accountId]);
      expect(await statuses(requests.byUrl)).toEqual([404, 404, 404, 404]);
      expect(await statuses(requests.byForm)).toEqual([404, 404, 404, 404, 404]);
      expect((await reviewer.browser.get('/console/queue')).body).not.toContain(stepUpCase);
      expect(await caseRow(stepUpCase)).toMatchObject({ status: 'open', claimed_by: reviewer.agent.id });
      expect((await rpB.get(`/reuseid/step-up/${operation!.transactionId}`)).body.data).toMatchObject({ status: 'Pending' });

      await store.setAccounts(t.h.ctx.store.db, reviewer.agent.id, 'all');
      expect(await statuses(requests.byUrl)).toEqual([200, 200, 200, 200]);
    });

    it('keeps the agents of a database from before migration 011 reviewing every account, as they did', async () => {
      const { db } = t.h.ctx.store;
      const names = Object.keys(migrations);
      const before = names[names.indexOf('011_agent_accounts') - 1]!;
      await db.deleteFrom('console_agents').execute();
      expect((await new Migrator({ db, provider: { getMigrations: async () => migrations } }).migrateTo(before)).error).toBeUndefined();
      const now = t.h.clock.now();
      // The row as the server wrote it before 011: no scope at all.
      await sql`insert into console_agents (id, email, password_hash, created_at, disabled_at)
        values (${'00000000-0000-4000-8000-000000000011'}, ${'legacy@bank.test'}, ${'scrypt$unused'}, ${now}, ${null})`.execute(db);
      expect(await migrateToLatest(db)).toContain('011_agent_accounts');
      expect(await new AgentStore(t.h.ctx).find(db, { email: 'legacy@bank.test' })).toMatchObject({ accounts: 'all' });
      // An agent written without a scope after 011 (none is, but the column's default decides) sees nothing.
      await sql`insert into console_agents (id, email, password_hash, created_at) values (${'no-scope'}, ${'none@bank.test'}, ${'x'}, ${now})`.execute(db);
      expect(await new AgentStore(t.h.ctx).find(db, { id: 'no-scope' })).toMatchObject({ accounts: [] });
    });
  });
}
