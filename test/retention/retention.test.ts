import { beforeEach, describe, expect, it } from 'vitest';
import { verifyAuditChains } from '../../src/audit/verify.js';
import { loadConfig } from '../../src/config.js';
import { sweepExpired } from '../../src/flows/expiry.js';
import { applyRetention, type RetentionDeps } from '../../src/retention/job.js';
import { DAY_MS } from '../../src/retention/policy.js';
import { testDatabases } from '../support/databases.js';
import { useHarness, type Rp } from '../support/harness.js';

const JANE = { firstName: 'JANE', lastName: 'SMITH', dateOfBirth: '1990-01-01', gender: 'F', nationality: 'NOR' };
const MINUTE = 60_000;

/** Tables whose rows belong to a transaction (and must go with it), apart from those that live with the user. */
const TRANSACTION_TABLES = ['proofings', 'device_operations', 'videoid_cases', 'readid_challenges', 'readid_attempts', 'readid_refused_uploads'] as const;

for (const database of testDatabases) {
  describe(`retention (${database.name})`, () => {
    const t = useHarness(database, { REUSEID_WEBHOOK_ALLOW_PRIVATE: 'true' });
    const deps = (): RetentionDeps => ({ ...t.h.ctx, clock: t.h.clock, policies: t.h.ctx.retentionPolicies });
    const db = () => t.h.ctx.store.db;
    // Devices sign with the real time: each test starts there (and owns its account, so moved clocks do not mix).
    beforeEach(() => t.h.clock.set(Date.now()));

    async function onboard(rp: Rp) {
      const start = (await rp.post('/reuseid/onboarding', {})).body.data;
      const device = await t.h.device();
      const activation = await device.activate(start.activationCode);
      await device.call('POST', `/device/v1/transactions/${start.transactionId}/proofing/sandbox`, { outcome: 'accepted', identity: JANE });
      return { transactionId: start.transactionId as string, userId: start.userId as string, deviceId: activation.deviceId as string };
    }

    const evidenceOf = async (transactionId: string) =>
      (
        await db()
          .selectFrom('evidence')
          .innerJoin('proofings', 'proofings.id', 'evidence.proofing_id')
          .select('evidence.id')
          .where('proofings.transaction_id', '=', transactionId)
          .execute()
      ).length;
    const exists = async (transactionId: string) =>
      (await db().selectFrom('transactions').select('id').where('id', '=', transactionId).executeTakeFirst()) !== undefined;
    // Items are chained (into audit_items) by the sequencer shortly after commit: chain them now.
    const chained = async () => {
      await t.h.ctx.auditSequencer.sequenceNow();
      return db();
    };
    const auditItems = async (accountId: string, eventType: string) =>
      (await (await chained()).selectFrom('audit_items').select('body').where('account_id', '=', accountId).where('event_type', '=', eventType).execute()).map(
        (row) => JSON.parse(row.body) as { referenceId: string; userId: string | null; data: Record<string, unknown> },
      );

    it('deletes evidence when due and not a minute before; the transaction and the user stay', async () => {
      const rp = await t.h.rp({ account: 'ret-evidence' });
      const done = await onboard(rp);
      expect(await evidenceOf(done.transactionId)).toBeGreaterThan(0);
      const evidenceCount = await evidenceOf(done.transactionId);

      t.h.clock.advance(90 * DAY_MS - MINUTE);
      await applyRetention(deps());
      expect(await evidenceOf(done.transactionId)).toBe(evidenceCount);

      t.h.clock.advance(MINUTE);
      await applyRetention(deps());
      expect(await evidenceOf(done.transactionId)).toBe(0);
      const reader = await t.h.rp({ account: 'ret-evidence' }); // the first token expired while the clock moved
      expect((await reader.get(`/reuseid/onboarding/${done.transactionId}`)).body.data).toMatchObject({ status: 'Completed', userData: JANE });
      expect((await reader.get(`/reuseid/users/${done.userId}`)).status).toBe(200);
      const items = await auditItems('ret-evidence', 'retention.evidence_deleted');
      expect(items).toEqual([
        expect.objectContaining({
          referenceId: done.transactionId,
          userId: done.userId,
          data: expect.objectContaining({ transactionId: done.transactionId, evidenceCount, evidenceDays: 90 }),
        }),
      ]);
    });

    it('deletes an ended transaction when due (Get answers 404), never an open one, never the user or their attributes', async () => {
      const rp = await t.h.rp({ account: 'ret-tx' });
      const done = await onboard(rp);
      const open = (await rp.post('/reuseid/onboarding', {})).body.data;
      const attributes = await db().selectFrom('user_attributes').select('name').where('user_id', '=', done.userId).execute();
      expect(attributes.length).toBeGreaterThan(0);

      t.h.clock.advance(365 * DAY_MS - MINUTE);
      await applyRetention(deps());
      expect(await exists(done.transactionId)).toBe(true);

      t.h.clock.advance(MINUTE);
      await applyRetention(deps());
      expect(await exists(done.transactionId)).toBe(false);
      const reader = await t.h.rp({ account: 'ret-tx' }); // the first token expired while the clock moved
      expect((await reader.get(`/reuseid/onboarding/${done.transactionId}`)).status).toBe(404);
      for (const table of TRANSACTION_TABLES) {
        expect(await db().selectFrom(table).select('transaction_id').where('transaction_id', '=', done.transactionId).execute()).toEqual([]);
      }
      // Still Pending (its expiry not yet recorded by the sweeper): it has no end, so retention never touches it.
      expect((await db().selectFrom('transactions').select('status').where('id', '=', open.transactionId).executeTakeFirstOrThrow()).status).toBe('Pending');
      expect(await db().selectFrom('user_attributes').select('name').where('user_id', '=', done.userId).execute()).toEqual(attributes);
      expect((await reader.get(`/reuseid/users/${done.userId}`)).status).toBe(200);
      expect(await auditItems('ret-tx', 'retention.transaction_deleted')).toEqual([
        expect.objectContaining({
          referenceId: done.transactionId,
          data: expect.objectContaining({ kind: 'onboarding', status: 'Completed', transactionsDays: 365 }),
        }),
      ]);
      expect((await verifyAuditChains(db(), { accountId: 'ret-tx' })).ok).toBe(true);

      // Once the sweeper records its expiry, it ends, and its own period starts then.
      await sweepExpired(t.h.ctx);
      await applyRetention(deps());
      expect(await exists(open.transactionId)).toBe(true);
    });

    it('refuses periods out of bounds, or evidence kept longer than its transaction', async () => {
      await t.h.rp({ account: 'ret-bounds' });
      const policies = t.h.ctx.retentionPolicies;
      await expect(policies.change(db(), 'ret-bounds', { evidenceDays: 400 })).rejects.toThrow(/longer/);
      await expect(policies.change(db(), 'ret-bounds', { deliveriesDays: 31 })).rejects.toThrow(/1–30/);
      await expect(policies.change(db(), 'ret-bounds', { transactionsDays: 0 })).rejects.toThrow(/1–7300/);
      const { policy } = await policies.change(db(), 'ret-bounds', { evidenceDays: 400, transactionsDays: 400 });
      expect(policy).toMatchObject({
        evidenceDays: 400,
        transactionsDays: 400,
        deliveriesDays: 30,
        sources: { evidenceDays: 'account', deliveriesDays: 'default' },
      });
      const reset = await policies.change(db(), 'ret-bounds', { evidenceDays: null, transactionsDays: null });
      expect(reset.policy).toMatchObject({ evidenceDays: 90, transactionsDays: 365, sources: { evidenceDays: 'default', transactionsDays: 'default' } });
    });

    it("applies an account's own periods over the defaults", async () => {
      const own = await t.h.rp({ account: 'ret-own' });
      const plain = await t.h.rp({ account: 'ret-plain' });
      await t.h.ctx.retentionPolicies.change(db(), 'ret-own', { evidenceDays: 7, transactionsDays: 30 });
      const mine = await onboard(own);
      const theirs = await onboard(plain);

      t.h.clock.advance(7 * DAY_MS);
      await applyRetention(deps());
      expect(await evidenceOf(mine.transactionId)).toBe(0);
      expect(await evidenceOf(theirs.transactionId)).toBeGreaterThan(0);

      t.h.clock.advance(23 * DAY_MS);
      await applyRetention(deps());
      expect(await exists(mine.transactionId)).toBe(false);
      expect(await exists(theirs.transactionId)).toBe(true);
      expect(await evidenceOf(theirs.transactionId)).toBeGreaterThan(0);
    });

    it('deletes ended webhook delivery logs when due, never a pending one, with one audit item per batch', async () => {
      const rp = await t.h.rp({ account: 'ret-hooks' });
      const { webhooks } = t.h.ctx;
      const subscription = await webhooks.subscriptions.create(rp.accountId, { name: 'r', url: 'http://127.0.0.1:9/hook' }, {});
      const ended = await webhooks.deliveries.sendTest(rp.accountId, subscription.id);
      const pending = await webhooks.deliveries.sendTest(rp.accountId, subscription.id);
      await db().updateTable('webhook_deliveries').set({ status: 'succeeded', updated_at: t.h.clock.now() }).where('id', '=', ended.id).execute();
      await db()
        .insertInto('webhook_delivery_attempts')
        .values({ delivery_id: ended.id, attempt: 1, started_at: t.h.clock.now(), duration_ms: 5, status_code: 204, error: null })
        .execute();
      const deliveries = async () =>
        (await db().selectFrom('webhook_deliveries').select('id').where('account_id', '=', rp.accountId).execute()).map((r) => r.id);

      t.h.clock.advance(30 * DAY_MS - MINUTE);
      await applyRetention(deps());
      expect((await deliveries()).sort()).toEqual([ended.id, pending.id].sort());

      t.h.clock.advance(MINUTE);
      await applyRetention(deps());
      expect(await deliveries()).toEqual([pending.id]);
      expect(await db().selectFrom('webhook_delivery_attempts').select('attempt').where('delivery_id', '=', ended.id).execute()).toEqual([]);
      expect(await auditItems('ret-hooks', 'retention.deliveries_deleted')).toEqual([
        expect.objectContaining({ data: expect.objectContaining({ count: 1, deliveriesDays: 30 }) }),
      ]);
    });

    it('deletes and audits each item once when several jobs run at the same time', async () => {
      const rp = await t.h.rp({ account: 'ret-race' });
      const onboardings = [];
      for (let i = 0; i < 4; i++) onboardings.push(await onboard(rp));
      const ids = onboardings.map((o) => o.transactionId).sort();
      // Other tests' accounts may have items due too: the jobs' counts are compared with every account's audit items.
      const allAudited = async (eventType: string, weight: (data: Record<string, unknown>) => number) =>
        (await (await chained()).selectFrom('audit_items').select('body').where('event_type', '=', eventType).execute()).reduce(
          (sum, row) => sum + weight((JSON.parse(row.body) as { data: Record<string, unknown> }).data),
          0,
        );
      const race = async (eventType: string, kind: 'evidence' | 'transactions') => {
        const weight = kind === 'evidence' ? (data: Record<string, unknown>) => Number(data.evidenceCount) : () => 1;
        const before = await allAudited(eventType, weight);
        const reports = await Promise.all([1, 2, 3].map(() => applyRetention(deps(), { batchSize: 2 })));
        const counted = reports.reduce((sum, r) => sum + r[kind], 0);
        return { counted, audited: (await allAudited(eventType, weight)) - before };
      };

      t.h.clock.advance(90 * DAY_MS);
      const evidenceCount = (await Promise.all(ids.map(evidenceOf))).reduce((a, b) => a + b, 0);
      const evidenceRace = await race('retention.evidence_deleted', 'evidence');
      expect((await auditItems('ret-race', 'retention.evidence_deleted')).map((i) => i.referenceId).sort()).toEqual(ids);
      expect((await auditItems('ret-race', 'retention.evidence_deleted')).reduce((sum, i) => sum + Number(i.data.evidenceCount), 0)).toBe(evidenceCount);
      expect(evidenceRace.counted).toBe(evidenceRace.audited);

      t.h.clock.advance(275 * DAY_MS);
      const transactionRace = await race('retention.transaction_deleted', 'transactions');
      expect(transactionRace.counted).toBe(transactionRace.audited);
      expect((await auditItems('ret-race', 'retention.transaction_deleted')).map((i) => i.referenceId).sort()).toEqual(ids);
      expect((await verifyAuditChains(db(), { accountId: 'ret-race' })).ok).toBe(true);
    });

    it("cleans up an erased user's transactions and evidence; the audit chain still verifies", async () => {
      const rp = await t.h.rp({ account: 'ret-erased' });
      const done = await onboard(rp);
      const erase = await t.h.app.inject({ method: 'DELETE', url: `/reuseid/users/${done.userId}`, headers: { authorization: `Bearer ${rp.token}` } });
      expect(erase.statusCode).toBe(204);

      t.h.clock.advance(90 * DAY_MS);
      await applyRetention(deps());
      expect(await evidenceOf(done.transactionId)).toBe(0);
      t.h.clock.advance(275 * DAY_MS);
      await applyRetention(deps());
      expect(await exists(done.transactionId)).toBe(false);
      const items = await (await chained()).selectFrom('audit_items').select('body').where('account_id', '=', 'ret-erased').execute();
      expect(items.map((i) => i.body).join('\n')).not.toMatch(/JANE|SMITH|1990-01-01/);
      expect((await verifyAuditChains(db(), { accountId: 'ret-erased' })).ok).toBe(true);
    });
  });
}

describe('retention configuration', () => {
  it('has documented defaults, and refuses evidence kept longer than its transaction', () => {
    expect(loadConfig({}).retention).toEqual({ evidenceDays: 90, transactionsDays: 365, deliveriesDays: 30, intervalSeconds: 3600 });
    expect(() => loadConfig({ REUSEID_RETENTION_EVIDENCE_DAYS: '400' })).toThrow(/REUSEID_RETENTION_EVIDENCE_DAYS: evidence cannot be kept longer/);
    expect(() => loadConfig({ REUSEID_RETENTION_DELIVERIES_DAYS: '31' })).toThrow(/REUSEID_RETENTION_DELIVERIES_DAYS/);
  });
});
