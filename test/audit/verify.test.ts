import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerAuditCommands } from '../../src/audit/cli.js';
import { chainHash, type AppendedAuditItem, type AuditItem } from '../../src/audit/log.js';
import type { ChainHead, VerifyReport } from '../../src/audit/verify.js';
import { testDatabases } from '../support/databases.js';
import { createHarness, type Harness } from '../support/harness.js';
import { fileBacked } from '../support/file-database.js';

for (const database of testDatabases) {
  describe(`reuseid audit verify (${database.name})`, () => {
    let h: Harness;
    let n = 0;
    beforeAll(async () => {
      h = await createHarness(fileBacked(database));
    });
    afterAll(() => h.close());
    afterEach(() => {
      process.exitCode = undefined;
    });

    /** A fresh account with a chain of five items. */
    async function chain(): Promise<{ accountId: string; items: AppendedAuditItem[] }> {
      const accountId = `chain-${++n}`;
      const items: AppendedAuditItem[] = [];
      for (let i = 1; i <= 5; i++) {
        items.push(
          await h.ctx.store.db
            .transaction()
            .execute((trx) => h.ctx.audit.append(trx, { accountId, eventType: 'test.step', message: `step ${i}`, userId: `user-${i}` })),
        );
      }
      await h.ctx.auditSequencer.sequenceNow();
      return { accountId, items };
    }

    async function verify(
      ...args: string[]
    ): Promise<{ report: VerifyReport & { heads: (ChainHead & { accountId: string })[] }; failed: boolean; text: string }> {
      const program = new Command().exitOverride();
      registerAuditCommands(program);
      const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
      try {
        await program.parseAsync(['node', 'reuseid', 'audit', 'verify', '--database', h.ctx.config.databaseUrl, ...args]);
        const text = String(log.mock.calls.at(-1)?.[0]);
        return { report: args.includes('--json') ? JSON.parse(text) : undefined, failed: process.exitCode === 1, text } as never;
      } finally {
        log.mockRestore();
        process.exitCode = undefined;
      }
    }

    const problemOf = async (accountId: string) => {
      const result = await verify('--account', accountId, '--json');
      expect(result.failed).toBe(true);
      expect(result.report.ok).toBe(false);
      return result.report.accounts[0]!.problem;
    };
    const row = (cursor: string) => h.ctx.store.db.selectFrom('audit_items').selectAll().where('cursor', '=', cursor).executeTakeFirstOrThrow();

    it('passes an intact chain, names its head, and exits zero', async () => {
      const { accountId, items } = await chain();
      const result = await verify('--account', accountId, '--json');
      expect(result.failed).toBe(false);
      const head = { sequence: 5, hash: (await row(items[4]!.cursor)).hash };
      expect(result.report).toEqual({
        ok: true,
        accounts: [{ accountId, items: 5, ok: true, problem: null, head }],
        pending: { items: 0, oldestAgeSeconds: null, boundSeconds: 60, withinBound: true },
        heads: [{ accountId, ...head }],
      });
      expect((await verify('--account', accountId)).text).toBe(
        `${accountId}: 5 items, chain intact; head 5 ${head.hash}\npending: none (every item is chained)`,
      );
    });

    it('names an altered item', async () => {
      const { accountId, items } = await chain();
      const target = await row(items[2]!.cursor);
      await h.ctx.store.db
        .updateTable('audit_items')
        .set({ body: target.body.replace('step 3', 'step 9') })
        .where('cursor', '=', target.cursor)
        .execute();
      expect(await problemOf(accountId)).toMatchObject({ kind: 'altered', sequence: 3, cursor: items[2]!.cursor });
    });

    it('names an item whose indexed column was changed, though its body and hash are intact', async () => {
      const { accountId, items } = await chain();
      await h.ctx.store.db.updateTable('audit_items').set({ user_id: 'someone-else' }).where('cursor', '=', items[1]!.cursor).execute();
      expect(await problemOf(accountId)).toMatchObject({ kind: 'altered', sequence: 2, cursor: items[1]!.cursor, detail: expect.stringMatching(/user_id/) });
    });

    it('catches an altered item whose hash was recomputed, at the link to its successor', async () => {
      const { accountId, items } = await chain();
      const target = await row(items[1]!.cursor);
      const body = target.body.replace('step 2', 'step 7');
      await h.ctx.store.db
        .updateTable('audit_items')
        .set({ body, hash: chainHash(target.prev_hash, body) })
        .where('cursor', '=', target.cursor)
        .execute();
      expect(await problemOf(accountId)).toMatchObject({ kind: 'unlinked', sequence: 3, cursor: items[2]!.cursor });
    });

    it('names a deleted item, and a deleted tail', async () => {
      const middle = await chain();
      await h.ctx.store.db.deleteFrom('audit_items').where('cursor', '=', middle.items[2]!.cursor).execute();
      expect(await problemOf(middle.accountId)).toMatchObject({ kind: 'deleted', sequence: 3, cursor: null });
      const tail = await chain();
      await h.ctx.store.db.deleteFrom('audit_items').where('cursor', 'in', [tail.items[3]!.cursor, tail.items[4]!.cursor]).execute();
      expect(await problemOf(tail.accountId)).toMatchObject({ kind: 'deleted', sequence: 4 });
    });

    it('names an inserted item, even one with a well-formed hash', async () => {
      const { accountId, items } = await chain();
      const last = await row(items[4]!.cursor);
      const forged = { ...items[4]!, cursor: '6a1f0a53-0000-4000-8000-000000000000', sequence: 6, message: 'forged' };
      const body = JSON.stringify(forged);
      await h.ctx.store.db
        .insertInto('audit_items')
        .values({ ...last, cursor: forged.cursor, sequence: 6, body, prev_hash: last.hash, hash: chainHash(last.hash, body) })
        .execute();
      expect(await problemOf(accountId)).toMatchObject({ kind: 'inserted', sequence: 6, cursor: forged.cursor });
    });

    it('names an item slipped into the middle of a renumbered chain', async () => {
      const { accountId, items } = await chain();
      const rows = await h.ctx.store.db.selectFrom('audit_items').selectAll().where('account_id', '=', accountId).orderBy('sequence').execute();
      // Rebuild the chain as 1, 2, forged, 3', 4', 5' with every item's own hash recomputed except the links.
      await h.ctx.store.db.deleteFrom('audit_items').where('account_id', '=', accountId).where('sequence', '>', 2).execute();
      const second = rows[1]!;
      const forgedBody = JSON.stringify({ ...items[1]!, cursor: 'forged-cursor', sequence: 3, message: 'forged' });
      const forged = { ...second, cursor: 'forged-cursor', sequence: 3, body: forgedBody, prev_hash: second.hash, hash: chainHash(second.hash, forgedBody) };
      await h.ctx.store.db.insertInto('audit_items').values(forged).execute();
      for (const original of rows.slice(2)) {
        const item = { ...(JSON.parse(original.body) as AuditItem), sequence: Number(original.sequence) + 1 };
        const body = JSON.stringify(item);
        await h.ctx.store.db
          .insertInto('audit_items')
          .values({ ...original, sequence: item.sequence, body, hash: chainHash(original.prev_hash, body) })
          .execute();
      }
      await h.ctx.store.db.updateTable('audit_chain_heads').set({ sequence: 6 }).where('account_id', '=', accountId).execute();
      expect(await problemOf(accountId)).toMatchObject({ kind: 'inserted', sequence: 3, cursor: 'forged-cursor' });
    });

    it('checks every account without --account and fails when any chain is broken', async () => {
      const result = await verify('--json');
      expect(result.failed).toBe(true);
      expect(result.report.accounts.filter((a) => a.ok).map((a) => a.accountId)).toContain('chain-1');
      expect((await verify()).text).toMatch(/chain-2: BROKEN at sequence 3 \(cursor [0-9a-f-]{36}\): altered/);
    });

    it('fails on an item left unchained beyond the bound, and passes once it is chained', async () => {
      const accountId = `stale-${++n}`;
      const now = h.clock.now();
      h.clock.set(now - 10 * 60_000); // written ten minutes ago, and no sequencer ran since
      try {
        await h.ctx.store.db.transaction().execute((trx) => h.ctx.audit.append(trx, { accountId, eventType: 'test.step', message: 'stale' }));
      } finally {
        h.clock.set(now);
      }
      const stale = await verify('--account', accountId, '--json');
      expect(stale.failed).toBe(true);
      expect(stale.report.pending).toMatchObject({ items: 1, boundSeconds: 60, withinBound: false });
      expect((await verify('--account', accountId)).text).toMatch(/pending: 1 items not chained yet, the oldest \d+ s old, BEYOND the 60 s bound/);
      expect((await verify('--account', accountId, '--max-pending-age', '3600')).failed).toBe(false);
      await h.ctx.auditSequencer.sequenceNow();
      expect(await verify('--account', accountId, '--json')).toMatchObject({
        failed: false,
        report: { ok: true, accounts: [{ items: 1 }], pending: { items: 0 } },
      });
    });
  });
}
