import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/database.js';
import { testDatabases } from '../support/databases.js';
import { cliDatabase, reuseidJson, runReuseid, type CliDatabase } from './support.js';

/** `reuseid accounts`: list, show, and set retention periods, run as the built CLI (npm run build). */
for (const database of testDatabases) {
  describe(`reuseid accounts (${database.name})`, { timeout: 120_000 }, () => {
    let db: CliDatabase;
    let store: Store;
    const cli = (...args: string[]) => reuseidJson(db.env, ...args, '--database', db.url);
    const fails = async (...args: string[]) => {
      const run = await runReuseid(db.env, ...args, '--database', db.url, '--json');
      expect(run.code).not.toBe(0);
      return JSON.parse(run.stdout).error as { code: string; message: string };
    };
    const DEFAULTS = { evidenceDays: 'default', transactionsDays: 'default', deliveriesDays: 'default' };

    beforeAll(async () => {
      db = await cliDatabase(database);
      await cli('clients', 'create', '--name', 'RP', '--account', 'bank-a');
      await cli('clients', 'create', '--name', 'RP', '--account', 'bank-b');
      store = openStore(db.url, { poolSize: 2 });
    });
    afterAll(async () => {
      await store?.close();
      await db.drop();
    });

    it('shows the defaults, sets periods (audited once, with what they were), and returns them to the default', async () => {
      expect(await cli('accounts', 'show', 'bank-a')).toMatchObject({
        accountId: 'bank-a',
        retention: { evidenceDays: 90, transactionsDays: 365, deliveriesDays: 30, sources: DEFAULTS },
      });
      const set = await cli('accounts', 'retention', 'bank-a', '--evidence-days', '30', '--deliveries-days', '7');
      expect(set.retention).toEqual({
        evidenceDays: 30,
        transactionsDays: 365,
        deliveriesDays: 7,
        sources: { evidenceDays: 'account', transactionsDays: 'default', deliveriesDays: 'account' },
      });
      // A second identical change changes nothing and is not audited again.
      await cli('accounts', 'retention', 'bank-a', '--evidence-days', '30');
      const listed = await cli('accounts', 'list');
      expect(listed.items.map((a: { accountId: string; retention: { evidenceDays: number } }) => [a.accountId, a.retention.evidenceDays])).toEqual([
        ['bank-a', 30],
        ['bank-b', 90],
      ]);
      const audit = await store.db
        .selectFrom('audit_items')
        .select('body')
        .where('account_id', '=', 'bank-a')
        .where('event_type', '=', 'retention.policy_changed')
        .execute();
      expect(audit.map((row) => JSON.parse(row.body).data)).toEqual([
        {
          retention: set.retention,
          previous: { evidenceDays: 90, transactionsDays: 365, deliveriesDays: 30, sources: DEFAULTS },
          source: 'cli',
        },
      ]);

      const reset = await cli('accounts', 'retention', 'bank-a', '--default', '--transactions-days', '400');
      expect(reset.retention).toEqual({
        evidenceDays: 90,
        transactionsDays: 400,
        deliveriesDays: 30,
        sources: { evidenceDays: 'default', transactionsDays: 'account', deliveriesDays: 'default' },
      });
      const human = await runReuseid(db.env, 'accounts', 'show', 'bank-a', '--database', db.url);
      expect(human.stdout).toMatch(/transactions: 400 days after they ended \(account\)/);
    });

    it('refuses an unknown account, a period out of bounds, and evidence kept longer than its transaction', async () => {
      expect((await fails('accounts', 'retention', 'nope', '--evidence-days', '10')).code).toBe('account_not_found');
      expect((await fails('accounts', 'show', 'nope')).code).toBe('account_not_found');
      expect(await fails('accounts', 'retention', 'bank-b', '--deliveries-days', '31')).toEqual({
        code: 'invalid_argument',
        message: 'deliveriesDays must be a whole number of days, 1–30',
      });
      expect((await fails('accounts', 'retention', 'bank-b', '--evidence-days', 'ten')).code).toBe('invalid_argument');
      expect((await fails('accounts', 'retention', 'bank-b', '--evidence-days', '500')).message).toMatch(
        /evidence cannot be kept longer \(500 days\) than the transaction it belongs to \(365 days\)/,
      );
      expect(await cli('accounts', 'show', 'bank-b')).toMatchObject({ retention: { evidenceDays: 90, sources: DEFAULTS } });
    });
  });
}
