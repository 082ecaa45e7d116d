import { openEnvelope } from '../../src/events/outbox.js';
import { describe, expect, it } from 'vitest';
import { verifyAuditChains } from '../../src/audit/verify.js';
import { testDatabases } from '../support/databases.js';
import { PUBLIC_URL, useHarness } from '../support/harness.js';

const JANE = { firstName: 'JANE', lastName: 'SMITH', dateOfBirth: '1990-01-01', gender: 'F', nationality: 'NOR' };

for (const database of testDatabases) {
  describe(`user erase, export and find (${database.name})`, () => {
    const t = useHarness(database);

    async function onboard(externalRef?: unknown) {
      const start = (await t.rp.post('/reuseid/onboarding', externalRef === undefined ? {} : { externalRef })).body.data;
      const device = await t.h.device();
      const activation = await device.activate(start.activationCode);
      await device.call('POST', `/device/v1/transactions/${start.transactionId}/proofing/sandbox`, { outcome: 'accepted', identity: JANE });
      return { start, device, deviceId: activation.deviceId as string, userId: start.userId as string };
    }

    const call = (method: 'DELETE' | 'GET', url: string, token = t.rp.token) => t.h.app.inject({ method, url, headers: { authorization: `Bearer ${token}` } });

    it('erases: no sealed value can be opened, transactions answer without personal data, the audit chain verifies', async () => {
      const user = await onboard('customer-42');
      const stepUp = (await t.rp.post('/reuseid/step-up', { userId: user.userId, deviceId: user.deviceId })).body.data;
      expect(stepUp.status).toBe('Pending');

      expect((await call('DELETE', `/reuseid/users/${user.userId}`)).statusCode).toBe(204);

      const db = t.h.ctx.store.db;
      const row = await db.selectFrom('users').selectAll().where('id', '=', user.userId).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ state: 'ERASED', external_ref_sealed: null, external_ref_hash: null });
      // Every sealed value of the user needs the user's data key, and that key can no longer be opened.
      expect(() => t.h.ctx.keyring.userCipher(user.userId, row.data_key_sealed)).toThrow();
      expect(await db.selectFrom('user_attributes').select('name').where('user_id', '=', user.userId).execute()).toEqual([]);
      expect(await db.selectFrom('user_reference_faces').select('model').where('user_id', '=', user.userId).execute()).toEqual([]);
      // What stays sealed in rows that outlive the user (transactions, proofings, evidence) opens with no key left.
      const transactions = await db.selectFrom('transactions').selectAll().where('user_id', '=', user.userId).execute();
      const proofings = await db
        .selectFrom('proofings')
        .select(['id', 'decision_sealed'])
        .where(
          'transaction_id',
          'in',
          transactions.map((tx) => tx.id),
        )
        .execute();
      const evidence = await db.selectFrom('evidence').select(['id', 'content_sealed']).where('dossier_id', '=', user.start.dossierId).execute();
      const sealed: [string, string | null][] = [
        ...transactions.flatMap((tx): [string, string | null][] => [
          [`transaction:${tx.id}:userData`, tx.user_data_sealed],
          [`transaction:${tx.id}:externalRef`, tx.external_ref_sealed],
        ]),
        ...proofings.map((p): [string, string | null] => [`proofing:${p.id}:decision`, p.decision_sealed]),
        ...evidence.map((e): [string, string | null] => [`evidence:${e.id}`, e.content_sealed]),
      ];
      const present = sealed.filter((entry): entry is [string, string] => entry[1] !== null);
      expect(present.length).toBeGreaterThanOrEqual(4);
      for (const [context, value] of present) {
        expect(() => t.h.ctx.keyring.userCipher(user.userId, row.data_key_sealed).open(value, context)).toThrow();
        expect(() => t.h.ctx.keyring.serverCipher().open(value, context)).toThrow();
      }

      const onboarding = (await t.rp.get(`/reuseid/onboarding/${user.start.transactionId}`)).body.data;
      expect(onboarding).toMatchObject({ status: 'Completed', transactionId: user.start.transactionId });
      expect(onboarding.userData).toBeUndefined();
      const ended = (await t.rp.get(`/reuseid/step-up/${stepUp.transactionId}`)).body.data;
      expect(ended).toMatchObject({ status: 'Failed', failureReason: 'user_erased' });
      expect(ended.userData).toBeUndefined();

      const devices = await db.selectFrom('devices').select('state').where('user_id', '=', user.userId).execute();
      expect(devices.map((d) => d.state)).toEqual(['DEACTIVATED']);
      await expect(user.device.pendingOperations()).rejects.toMatchObject({ status: 401 });

      const events = await db.selectFrom('outbox_events').select(['id', 'event_name', 'envelope']).where('account_id', '=', t.rp.accountId).execute();
      expect(events.map((e) => e.event_name)).toEqual(expect.arrayContaining(['user.erased', 'stepup.failed']));
      // The onboarding's completed event carried userData, sealed with the server key: erasure redacted it.
      const completed = events
        .filter((e) => e.event_name === 'onboarding.completed')
        .map((e) => openEnvelope(t.h.ctx.cipher, e.id, e.envelope).eventData as Record<string, unknown>)
        .find((data) => data.transactionId === user.start.transactionId);
      expect(completed).toMatchObject({ status: 'Completed', transactionId: user.start.transactionId });
      expect(completed!.userData).toBeUndefined();
      for (const e of events)
        for (const clear of ['JANE', 'SMITH', '1990-01-01']) expect(JSON.stringify(openEnvelope(t.h.ctx.cipher, e.id, e.envelope))).not.toContain(clear);
      await t.h.ctx.auditSequencer.sequenceNow();
      const audit = await db.selectFrom('audit_items').select(['event_type', 'body']).where('account_id', '=', t.rp.accountId).execute();
      expect(audit.map((a) => a.event_type)).toContain('user.erased');
      for (const item of audit) for (const clear of ['JANE', 'SMITH', '1990-01-01', 'customer-42']) expect(item.body).not.toContain(clear);
      expect((await verifyAuditChains(db)).ok).toBe(true);
    });

    it('answers 404 to another account, 204 to a second erase, and 404 for the erased user afterwards', async () => {
      const user = await onboard();
      const other = await t.h.rp({ account: 'other-bank' });
      expect((await call('DELETE', `/reuseid/users/${user.userId}`, other.token)).statusCode).toBe(404);
      expect((await call('DELETE', `/reuseid/users/unknown-user`)).statusCode).toBe(404);
      expect((await t.rp.get(`/reuseid/users/${user.userId}`)).status).toBe(200);

      expect((await call('DELETE', `/reuseid/users/${user.userId}`)).statusCode).toBe(204);
      expect((await call('DELETE', `/reuseid/users/${user.userId}`)).statusCode).toBe(204);
      await t.h.ctx.auditSequencer.sequenceNow();
      const erasures = await t.h.ctx.store.db
        .selectFrom('audit_items')
        .select('cursor')
        .where('event_type', '=', 'user.erased')
        .where('user_id', '=', user.userId)
        .execute();
      expect(erasures).toHaveLength(1);
      expect((await t.rp.get(`/reuseid/users/${user.userId}`)).status).toBe(404);
      expect((await t.rp.get(`/reuseid/users/${user.userId}/export`)).status).toBe(404);
      expect((await t.rp.post('/reuseid/step-up', { userId: user.userId, deviceId: user.deviceId })).status).toBe(404);
    });

    it('exports what was stored: attributes, externalRef, devices, transactions, evidence and audit items', async () => {
      const user = await onboard({ customer: 42 });
      await t.h.ctx.auditSequencer.sequenceNow();
      const exported = (await t.rp.get(`/reuseid/users/${user.userId}/export`)).body.data;
      expect(exported).toMatchObject({ userId: user.userId, externalRef: { customer: 42 }, auditItemsTruncated: false });
      expect(exported.attributes.dateOfBirth).toMatchObject({ value: '1990-01-01', provider: 'sandbox', transactionId: user.start.transactionId });
      expect(exported.devices).toEqual([expect.objectContaining({ deviceId: user.deviceId, state: 'ACTIVE' })]);
      expect(exported.transactions).toEqual([expect.objectContaining({ transactionId: user.start.transactionId, status: 'Completed', userData: JANE })]);
      expect(exported.auditItems.map((item: { eventType: string }) => item.eventType)).toEqual(
        expect.arrayContaining(['onboarding.started', 'onboarding.completed']),
      );

      const db = t.h.ctx.store.db;
      const stored = await db.selectFrom('evidence').select(['id', 'kind']).where('dossier_id', '=', user.start.dossierId).execute();
      expect(stored.length).toBeGreaterThan(0);
      expect(exported.evidence.map((e: { evidenceId: string }) => e.evidenceId).sort()).toEqual(stored.map((e) => e.id).sort());
      for (const item of exported.evidence) expect(item.content).toBeUndefined();

      const withContents = (await t.rp.get(`/reuseid/users/${user.userId}/export?include=evidence`)).body.data;
      const user_ = (await t.h.ctx.users.find(db, t.rp.accountId, user.userId))!;
      const cipher = t.h.ctx.users.cipher(user_);
      const proofingId = exported.transactions[0].proofingId as string;
      const opened = await t.h.ctx.evidence.list(db, cipher, proofingId);
      for (const item of opened) {
        const inExport = withContents.evidence.find((e: { evidenceId: string }) => e.evidenceId === item.id);
        expect(inExport).toMatchObject({ kind: item.kind, mediaType: item.mediaType, size: item.content.length, content: item.content.toString('base64') });
      }
    });

    it('finds users by externalRef, page by page, only in their account', async () => {
      const ids = [(await onboard('shared-ref')).userId, (await onboard('shared-ref')).userId, (await onboard('shared-ref')).userId];
      await onboard('another-ref');
      const first = await t.rp.get('/reuseid/users?externalRef=shared-ref&limit=2');
      expect(first.status).toBe(200);
      expect(first.body.items).toHaveLength(2);
      expect(first.body.next).toMatch(new RegExp(`^${PUBLIC_URL}/reuseid/users\\?cursor=`));
      const second = await t.rp.get(first.body.next.slice(PUBLIC_URL.length));
      expect(second.body.items).toHaveLength(1);
      expect(second.body.next).toBeNull();
      const found = [...first.body.items, ...second.body.items].map((u: { userId: string }) => u.userId);
      expect(found.sort()).toEqual([...ids].sort());

      const other = await t.h.rp({ account: 'other-bank' });
      expect((await other.get('/reuseid/users?externalRef=shared-ref')).body.items).toEqual([]);
      expect((await other.get(first.body.next.slice(PUBLIC_URL.length))).status).toBe(422);
      expect((await t.rp.get('/reuseid/users')).status).toBe(422);

      await call('DELETE', `/reuseid/users/${ids[0]}`);
      expect((await t.rp.get('/reuseid/users?externalRef=shared-ref')).body.items).toHaveLength(2);
    });

    it('hashes at start the externalRefs of users created before migration 010', async () => {
      const user = await onboard('legacy-ref');
      const db = t.h.ctx.store.db;
      await db.updateTable('users').set({ external_ref_hash: null }).where('id', '=', user.userId).execute();
      expect((await t.rp.get('/reuseid/users?externalRef=legacy-ref')).body.items).toEqual([]);
      expect(await t.h.ctx.users.hashExternalRefs(db)).toBe(1);
      expect((await t.rp.get('/reuseid/users?externalRef=legacy-ref')).body.items).toEqual([expect.objectContaining({ userId: user.userId })]);
      expect(await t.h.ctx.users.hashExternalRefs(db)).toBe(0);
    });
  });
}
