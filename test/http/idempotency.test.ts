import { describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { useHarness } from '../support/harness.js';

for (const database of testDatabases) {
  describe(`Idempotency-Key on RP POSTs (${database.name})`, () => {
    const t = useHarness(database);

    const post = (path: string, body: unknown, key?: string, token = t.rp.token) =>
      t.h.app.inject({
        method: 'POST',
        url: path,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
        payload: JSON.stringify(body),
      });

    it('replays the first answer for a retry; a replayed onboarding hands out a fresh code that replaces the first', async () => {
      const first = await post('/reuseid/onboarding', { externalRef: 'r-1' }, 'key-onboarding-1');
      const retry = await post('/reuseid/onboarding', { externalRef: 'r-1' }, 'key-onboarding-1');
      expect(retry.statusCode).toBe(200);
      expect(retry.headers['idempotent-replayed']).toBe('true');
      const [a, b] = [first.json().data, retry.json().data];
      expect(b.transactionId).toBe(a.transactionId);
      expect(b.userId).toBe(a.userId);
      expect(b.activationCode).toMatch(/^\d{10}$/);
      const transactions = await t.h.ctx.store.db.selectFrom('transactions').select('id').where('user_id', '=', a.userId).execute();
      expect(transactions).toHaveLength(1);
      const device = await t.h.device();
      if (b.activationCode !== a.activationCode) await expect(device.activate(a.activationCode)).rejects.toMatchObject({ status: 400 });
      const activation = await device.activate(b.activationCode);
      expect(activation.transactionId).toBe(a.transactionId);
      const afterActivation = await post('/reuseid/onboarding', { externalRef: 'r-1' }, 'key-onboarding-1');
      expect(afterActivation.json().data.activationCode).toBeUndefined();
      expect(afterActivation.json().data.transactionId).toBe(a.transactionId);
    });

    it('refuses the same key with a different body, and keeps keys per account', async () => {
      await post('/reuseid/onboarding', { externalRef: 'a' }, 'key-2');
      const different = await post('/reuseid/onboarding', { externalRef: 'b' }, 'key-2');
      expect(different.statusCode).toBe(422);
      expect(different.json().code).toBe('idempotency_key_reused');
      const other = await t.h.rp({ account: 'other' });
      const sameKeyElsewhere = await post('/reuseid/onboarding', { externalRef: 'b' }, 'key-2', other.token);
      expect(sameKeyElsewhere.statusCode).toBe(200);
      expect(sameKeyElsewhere.headers['idempotent-replayed']).toBeUndefined();
    });

    it('replays client errors too, refuses malformed keys, and forgets keys after 24 hours', async () => {
      const body = { userId: '0eb66632-88d0-4ef4-8126-495c64a0abd2', deviceId: 'd' };
      const first = await post('/reuseid/step-up', body, 'key-3');
      expect(first.statusCode).toBe(404);
      const retry = await post('/reuseid/step-up', body, 'key-3');
      expect(retry.statusCode).toBe(404);
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect((await post('/reuseid/step-up', body, 'bad key with spaces')).statusCode).toBe(400);
      t.h.clock.advance(24 * 3600 * 1000 + 1);
      const later = await t.h.rp();
      const fresh = await post('/reuseid/step-up', body, 'key-3', later.token);
      expect(fresh.headers['idempotent-replayed']).toBeUndefined();
      t.h.clock.set(Date.now());
    });

    it('runs concurrent retries once: the others are refused while the first is in progress, or replay it', async () => {
      const results = await Promise.all([1, 2, 3, 4].map(() => post('/reuseid/onboarding', { externalRef: 'c' }, 'key-4')));
      const created = results.filter((r) => r.statusCode === 200 && r.headers['idempotent-replayed'] === undefined);
      expect(created).toHaveLength(1);
      for (const r of results) expect([200, 409]).toContain(r.statusCode);
      const transactionIds = new Set(results.filter((r) => r.statusCode === 200).map((r) => r.json().data.transactionId));
      expect(transactionIds.size).toBe(1);
    });

    it('lets a retry run again when the first attempt died with its process', async () => {
      const { h, rp } = t;
      const first = await post('/reuseid/onboarding', { externalRef: 'crash' }, 'key-5');
      expect(first.statusCode).toBe(200);
      // As if the process had died before storing the answer.
      await h.ctx.store.db.updateTable('idempotency_records').set({ state: 'running', response_sealed: null }).where('idempotency_key', '=', 'key-5').execute();
      expect((await post('/reuseid/onboarding', { externalRef: 'crash' }, 'key-5')).statusCode).toBe(409);
      h.clock.advance(61_000);
      const retried = await post('/reuseid/onboarding', { externalRef: 'crash' }, 'key-5', (await h.rp({ account: rp.accountId })).token);
      expect(retried.statusCode).toBe(200);
      expect(retried.headers['idempotent-replayed']).toBeUndefined();
      h.clock.set(Date.now());
    });

    it('checks the token before anything else: a stranger learns nothing from validation', async () => {
      const res = await t.h.app.inject({
        method: 'POST',
        url: '/reuseid/onboarding',
        headers: { 'content-type': 'application/json' },
        payload: '{"provider":"nope"}',
      });
      expect(res.statusCode).toBe(401);
    });
  });
}
