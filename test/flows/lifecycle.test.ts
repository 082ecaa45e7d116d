import { describe, expect, it } from 'vitest';
import { sweepExpired } from '../../src/flows/expiry.js';
import { testDatabases } from '../support/databases.js';
import { createHarness, useHarness } from '../support/harness.js';

const JANE = { firstName: 'JANE', lastName: 'SMITH', dateOfBirth: '1990-01-01', gender: 'F', nationality: 'NOR' };

for (const database of testDatabases) {
  describe(`transaction lifecycle (${database.name})`, () => {
    const t = useHarness(database);

    const eventsOf = async (transactionId: string) => {
      await t.h.ctx.auditSequencer.sequenceNow();
      const rows = await t.h.ctx.store.db.selectFrom('audit_items').select('event_type').where('body', 'like', `%${transactionId}%`).execute();
      return rows.map((r) => r.event_type);
    };

    it('completes exactly once when conflicting decisions race', async () => {
      const start = (await t.rp.post('/reuseid/onboarding', {})).body.data;
      const device = await t.h.device();
      await device.activate(start.activationCode);
      const path = `/device/v1/transactions/${start.transactionId}/proofing/sandbox`;
      const outcomes = await Promise.allSettled([
        device.call('POST', path, { outcome: 'accepted', identity: JANE }),
        device.call('POST', path, { outcome: 'rejected' }),
        device.call('POST', path, { outcome: 'accepted', identity: { ...JANE, firstName: 'EVE' } }),
      ]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const ended = (await eventsOf(start.transactionId)).filter((t) => /^onboarding\.(completed|failed)$/.test(t));
      expect(ended).toHaveLength(1);
      const outbox = await t.h.ctx.store.db
        .selectFrom('outbox_events')
        .select('event_name')
        .where('event_name', 'in', ['onboarding.completed', 'onboarding.failed'])
        .execute();
      expect(outbox.length).toBeGreaterThanOrEqual(1);
    });

    it('the sweeper records each expiry once, with its audit item and event, even when sweeps overlap', async () => {
      const starts = await Promise.all([1, 2, 3].map(async () => (await t.rp.post('/reuseid/onboarding', {})).body.data));
      const before = await t.h.ctx.store.db.selectFrom('outbox_events').select('id').where('event_name', '=', 'onboarding.expired').execute();
      t.h.clock.advance(t.h.ctx.config.transactionTtlSeconds * 1000 + 1);
      const counts = await Promise.all([sweepExpired(t.h.ctx), sweepExpired(t.h.ctx)]);
      expect(counts[0]! + counts[1]!).toBeGreaterThanOrEqual(3);
      for (const start of starts) expect((await eventsOf(start.transactionId)).filter((t) => t === 'onboarding.expired')).toHaveLength(1);
      const after = await t.h.ctx.store.db.selectFrom('outbox_events').select('id').where('event_name', '=', 'onboarding.expired').execute();
      expect(after.length - before.length).toBe(3);
      expect(await sweepExpired(t.h.ctx)).toBe(0);
      t.h.clock.set(Date.now());
    });

    it('a step-up expires too, and its pending operation can no longer be approved', async () => {
      const start = (await t.rp.post('/reuseid/onboarding', {})).body.data;
      const device = await t.h.device();
      const activation = await device.activate(start.activationCode);
      await device.call('POST', `/device/v1/transactions/${start.transactionId}/proofing/sandbox`, { outcome: 'accepted', identity: JANE });
      await t.rp.post('/reuseid/step-up', { userId: start.userId, deviceId: activation.deviceId });
      const [operation] = await device.pendingOperations();
      await t.h.ctx.store.db
        .updateTable('device_operations')
        .set({ expires_at: t.h.clock.now() - 1 })
        .where('id', '=', operation!.operationId)
        .execute();
      await expect(device.decide(operation!)).rejects.toMatchObject({ status: 409 });
      expect(await device.pendingOperations()).toHaveLength(0);
    });
  });
}

describe('readiness', () => {
  it('fails readiness while draining for shutdown, and still serves requests', async () => {
    const h = await createHarness(testDatabases[0]!);
    h.app.draining = true;
    const ready = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().detail).toContain('shutting down');
    expect((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    await h.close();
  });

  it('reports not ready with 503 when the database is gone', async () => {
    const h = await createHarness(testDatabases[0]!);
    expect((await h.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    await h.ctx.store.close();
    const res = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 'service_unavailable' });
    await h.app.close();
  });
});
