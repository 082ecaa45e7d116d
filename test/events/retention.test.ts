import { describe, expect, it } from 'vitest';
import { EVENT_LOG_RETENTION_MS, EVENT_RETENTION_MS } from '../../src/events/outbox.js';
import { sweepExpired } from '../../src/flows/expiry.js';
import { testDatabases } from '../support/databases.js';
import { useHarness } from '../support/harness.js';

for (const database of testDatabases) {
  describe(`event retention (${database.name})`, () => {
    const t = useHarness(database);

    it('erases dispatched events (personal data, sealed) a retention period after their delivery window closed', async () => {
      const { h, rp } = t;
      const old = await h.ctx.outbox.enqueue(h.ctx.store.db, rp.accountId, 'onboarding.completed', { userData: { firstName: 'OLD' } });
      const pending = await h.ctx.outbox.enqueue(h.ctx.store.db, rp.accountId, 'onboarding.completed', { userData: { firstName: 'UNSENT' } });
      await h.ctx.store.db.updateTable('outbox_events').set({ dispatched_at: h.clock.now() }).where('id', '=', old.id).execute();
      h.clock.advance(EVENT_RETENTION_MS + EVENT_LOG_RETENTION_MS + 1000);
      const recent = await h.ctx.outbox.enqueue(h.ctx.store.db, rp.accountId, 'onboarding.completed', { userData: { firstName: 'NEW' } });
      await sweepExpired(h.ctx);
      const ids = (await h.ctx.store.db.selectFrom('outbox_events').select('id').execute()).map((r) => r.id);
      expect(ids).not.toContain(old.id);
      expect(ids).toContain(pending.id); // never dispatched: left for the delivery worker to account for
      expect(ids).toContain(recent.id);
      h.clock.set(Date.now());
    });
  });
}
