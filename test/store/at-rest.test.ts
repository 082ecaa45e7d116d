import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEnvelope } from '../../src/events/outbox.js';
import { testDatabases } from '../support/databases.js';
import { createHarness, type Harness, type Rp } from '../support/harness.js';

const IDENTITY = { firstName: 'KARI', lastName: 'NORDMANN', dateOfBirth: '1985-07-14', gender: 'F', nationality: 'NOR' };

for (const database of testDatabases) {
  describe(`storage guarantees (${database.name})`, () => {
    let h: Harness;
    let rp: Rp;
    let completed: { transactionId: string; userId: string };
    beforeAll(async () => {
      h = await createHarness(database);
      rp = await h.rp();
      const start = (await rp.post('/reuseid/onboarding', { externalRef: 'EMPLOYEE-4711' })).body.data;
      const device = await h.device();
      await device.activate(start.activationCode);
      await device.call('POST', `/device/v1/transactions/${start.transactionId}/proofing/sandbox`, { outcome: 'accepted', identity: IDENTITY });
      completed = { transactionId: start.transactionId, userId: start.userId };
    });
    afterAll(() => h.close());

    async function everyStoredText(): Promise<string> {
      const tables = [
        'users',
        'user_attributes',
        'transactions',
        'proofings',
        'evidence',
        'audit_items',
        'outbox_events',
        'devices',
        'api_clients',
        'signing_keys',
      ] as const;
      const dumps: string[] = [];
      for (const table of tables) dumps.push(JSON.stringify(await sql`select * from ${sql.table(table)}`.execute(h.ctx.store.db)));
      return dumps.join('\n');
    }

    it('keeps personal data, evidence, external references and private keys only as ciphertext', async () => {
      const dump = await everyStoredText();
      for (const value of ['KARI', 'NORDMANN', '1985-07-14', 'EMPLOYEE-4711']) expect(dump).not.toContain(value);
      expect(dump).not.toMatch(/"d":"/);
    });

    it('writes the completion event in the same database transaction as the change, sealed', async () => {
      const rows = await h.ctx.store.db.selectFrom('outbox_events').selectAll().where('event_name', '=', 'onboarding.completed').execute();
      const envelopes = rows.map((row) => openEnvelope(h.ctx.keyring.serverCipher(), row.id, row.envelope));
      const mine = envelopes.find((e) => (e.eventData as { transactionId: string }).transactionId === completed.transactionId)!;
      expect(mine).toMatchObject({
        sender: 'reuseid',
        eventName: 'onboarding.completed',
        accountId: rp.accountId,
        eventData: { status: 'Completed', userData: IDENTITY },
      });
      const polled = (await rp.get(`/reuseid/onboarding/${completed.transactionId}`)).body.data;
      expect(mine.eventData).toEqual(polled);
    });

    it('rolls back the state change when its audit item cannot be written', async () => {
      const start = (await rp.post('/reuseid/onboarding', {})).body.data;
      const device = await h.device();
      await device.activate(start.activationCode);
      // Break the audit log: with its table gone, the next append fails inside the business transaction.
      await h.ctx.store.db.schema.alterTable('audit_pending').renameTo('audit_pending_away').execute();
      try {
        await expect(
          device.call('POST', `/device/v1/transactions/${start.transactionId}/proofing/sandbox`, { outcome: 'accepted', identity: IDENTITY }),
        ).rejects.toMatchObject({ status: 500 });
      } finally {
        await h.ctx.store.db.schema.alterTable('audit_pending_away').renameTo('audit_pending').execute();
      }
      const got = (await rp.get(`/reuseid/onboarding/${start.transactionId}`)).body.data;
      expect(got.status).toBe('Pending');
      const attributes = await h.ctx.store.db.selectFrom('user_attributes').select('name').where('user_id', '=', start.userId).execute();
      expect(attributes).toHaveLength(0);
    });

    it('chains audit items per account without gaps, also under concurrent appends', async () => {
      await Promise.all(Array.from({ length: 20 }, () => rp.post('/reuseid/onboarding', {})));
      await h.ctx.auditSequencer.sequenceNow();
      const items = await h.ctx.store.db
        .selectFrom('audit_items')
        .select(['sequence', 'prev_hash', 'hash'])
        .where('account_id', '=', rp.accountId)
        .orderBy('sequence')
        .execute();
      items.forEach((item, index) => {
        expect(item.sequence).toBe(index + 1);
        if (index > 0) expect(item.prev_hash).toBe(items[index - 1]!.hash);
      });
    });
  });
}
