import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/log.js';
import { AuditSequencer } from '../../src/audit/sequencer.js';
import { verifyAuditChains } from '../../src/audit/verify.js';
import { cryptoRandom, systemClock } from '../../src/shared/runtime.js';
import { migrateToLatest, openStore, type Store } from '../../src/store/database.js';
import { testDatabases } from '../support/databases.js';
import { fileBacked } from '../support/file-database.js';

/**
 * The audit write path takes no chain lock; the sequencer chains afterwards. Two stores on one database stand for two
 * instances (SQLite: two connections to one file, as a CLI command beside the server).
 */
for (const database of testDatabases) {
  describe(`audit sequencer (${database.name})`, () => {
    let drop: () => Promise<void>;
    let one: Store;
    let two: Store;
    let n = 0;
    const audit = new AuditLog({ clock: systemClock, random: cryptoRandom });
    const silent = { error: () => undefined };

    beforeAll(async () => {
      const created = await fileBacked(database).create();
      drop = created.drop;
      one = openStore(created.url);
      await migrateToLatest(one.db);
      two = openStore(created.url);
    });
    afterAll(async () => {
      await one.close();
      await two.close();
      await drop();
    });

    const account = () => `seq-${++n}`;
    const append = (store: Store, accountId: string, message: string) =>
      store.write((trx) => audit.append(trx, { accountId, eventType: 'test.step', message }));
    const messages = async (accountId: string) =>
      (await one.db.selectFrom('audit_items').select('body').where('account_id', '=', accountId).orderBy('sequence').execute()).map(
        (r) => JSON.parse(r.body).message as string,
      );
    const pending = async () =>
      Number(
        (
          await one.db
            .selectFrom('audit_pending')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );

    /** Bounded poll: the running sequencers chain on their own schedule. */
    async function until(what: string, condition: () => Promise<boolean>): Promise<void> {
      for (let i = 0; i < 200; i++) {
        if (await condition()) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`gave up waiting for ${what}`);
    }

    it('chains concurrent appends of one account from several connections into one chain that verifies', async () => {
      const accountId = account();
      const writes = Array.from({ length: 40 }, (_, i) => append(i % 2 ? one : two, accountId, `w${i}`));
      await Promise.all(writes);
      expect(await messages(accountId)).toEqual([]);
      expect(await new AuditSequencer({ store: one, clock: systemClock }).sequenceNow()).toBeGreaterThanOrEqual(40);
      const chained = await messages(accountId);
      expect([...chained].sort()).toEqual(Array.from({ length: 40 }, (_, i) => `w${i}`).sort());
      const report = await verifyAuditChains(one.db, { accountId });
      expect(report).toMatchObject({ ok: true, accounts: [{ items: 40, ok: true, head: { sequence: 40 } }], pending: { items: 0 } });
    });

    it('keeps the order in which one transaction wrote its items', async () => {
      const accountId = account();
      await one.write(async (trx) => {
        for (const message of ['first', 'second', 'third']) await audit.append(trx, { accountId, eventType: 'test.step', message });
      });
      await new AuditSequencer({ store: one, clock: systemClock }).sequenceNow();
      expect(await messages(accountId)).toEqual(['first', 'second', 'third']);
    });

    it('leaves no item of a transaction that rolled back', async () => {
      const accountId = account();
      await append(one, accountId, 'kept');
      const crashed = one.write(async (trx) => {
        await audit.append(trx, { accountId, eventType: 'test.step', message: 'rolled back' });
        throw new Error('the writer crashed before commit');
      });
      await expect(crashed).rejects.toThrow(/crashed/);
      await new AuditSequencer({ store: one, clock: systemClock }).sequenceNow();
      expect(await messages(accountId)).toEqual(['kept']);
      expect((await verifyAuditChains(one.db, { accountId })).ok).toBe(true);
    });

    it('never forks a chain when two sequencers chain at once', async () => {
      const accountId = account();
      const a = new AuditSequencer({ store: one, clock: systemClock });
      const b = new AuditSequencer({ store: two, clock: systemClock });
      for (let round = 0; round < 5; round++) {
        await Promise.all(Array.from({ length: 10 }, (_, i) => append(i % 2 ? one : two, accountId, `r${round}-${i}`)));
        await Promise.all([a.sequenceNow(), b.sequenceNow()]);
      }
      expect(await pending()).toBe(0);
      expect(await messages(accountId)).toHaveLength(50);
      expect(await verifyAuditChains(one.db, { accountId })).toMatchObject({ ok: true, accounts: [{ items: 50, head: { sequence: 50 } }] });
    });

    it('hands over to another sequencer that continues from the chain heads, losing nothing', async () => {
      const accountId = account();
      const stopFirst = new AuditSequencer({ store: one, clock: systemClock }).start(silent);
      const stopSecond = new AuditSequencer({ store: two, clock: systemClock }).start(silent);
      try {
        for (let i = 0; i < 10; i++) await append(i % 2 ? one : two, accountId, `before-${i}`);
        await until('the items before the handover to be chained', async () => (await pending()) === 0);
        await stopFirst();
        for (let i = 0; i < 10; i++) await append(one, accountId, `after-${i}`);
        await until('the items after the handover to be chained', async () => (await pending()) === 0);
      } finally {
        await stopFirst();
        await stopSecond();
      }
      const chained = await messages(accountId);
      expect(chained.slice(10)).toEqual(Array.from({ length: 10 }, (_, i) => `after-${i}`));
      expect(await verifyAuditChains(one.db, { accountId })).toMatchObject({ ok: true, accounts: [{ items: 20 }] });
    });

    it('reports the tail not chained yet, and fails once it is older than the bound', async () => {
      const accountId = account();
      await append(one, accountId, 'waiting');
      const now = Date.now();
      expect(await verifyAuditChains(one.db, { accountId, now })).toMatchObject({ ok: true, pending: { items: 1, withinBound: true } });
      const later = await verifyAuditChains(one.db, { accountId, now: now + 120_000 });
      expect(later).toMatchObject({ ok: false, pending: { items: 1, boundSeconds: 60, withinBound: false } });
      expect(later.pending.oldestAgeSeconds).toBeGreaterThanOrEqual(119);
      await new AuditSequencer({ store: one, clock: systemClock }).sequenceNow();
      expect(await verifyAuditChains(one.db, { accountId, now: now + 120_000 })).toMatchObject({ ok: true, pending: { items: 0, oldestAgeSeconds: null } });
    });

    if (database.name === 'postgres') {
      it('elects one sequencer at a time, and another once it is gone', async () => {
        const first = one.election('test-role');
        const second = two.election('test-role');
        try {
          expect(await first.lead()).toBe(true);
          expect(await second.lead()).toBe(false);
          expect(await first.lead()).toBe(true);
          await first.close();
          expect(await second.lead()).toBe(true);
          expect(await first.lead()).toBe(false);
        } finally {
          await first.close();
          await second.close();
        }
      });

      it('chains an item whose transaction commits after a later one was chained, without a gap or a fork', async () => {
        const accountId = account();
        const sequencer = new AuditSequencer({ store: two, clock: systemClock });
        let commitLate!: () => void;
        const held = new Promise<void>((resolve) => {
          commitLate = resolve;
        });
        let appended!: () => void;
        const lowerIdWritten = new Promise<void>((resolve) => {
          appended = resolve;
        });
        // The first transaction takes the lower id, then stays open while a later one commits and is chained.
        const late = one.write(async (trx) => {
          await audit.append(trx, { accountId, eventType: 'test.step', message: 'late' });
          appended();
          await held;
        });
        await lowerIdWritten;
        await append(two, accountId, 'early');
        await sequencer.sequenceNow();
        expect(await messages(accountId)).toEqual(['early']);
        commitLate();
        await late;
        await sequencer.sequenceNow();
        expect(await messages(accountId)).toEqual(['early', 'late']);
        expect((await verifyAuditChains(one.db, { accountId })).ok).toBe(true);
      });
    }
  });
}
