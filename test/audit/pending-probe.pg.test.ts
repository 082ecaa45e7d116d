import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pendingProbe } from '../../src/audit/sequencer.js';
import { migrateToLatest, openStore, type Store } from '../../src/store/database.js';
import { testDatabases } from '../support/databases.js';

/**
 * Every chained audit item leaves a dead row in `audit_pending` until VACUUM runs (on PostgreSQL; SQLite removes rows
 * from its b-tree at once). The sequencer asks whether anything is pending several times a second, so that question
 * must not read the dead rows again each time.
 */
// PostgreSQL's dead rows only: this file is part of the run when REUSEID_TEST_DATABASE_URL is set (vitest.config.ts).
for (const postgres of testDatabases.filter((d) => d.name === 'postgres'))
  describe('the sequencer’s pending probe on PostgreSQL', () => {
    let store: Store;
    let drop: () => Promise<void>;

    beforeAll(async () => {
      const created = await postgres.create();
      drop = created.drop;
      store = openStore(created.url);
      await migrateToLatest(store.db);
    });

    afterAll(async () => {
      await store.close();
      await drop();
    });

    /** Shared buffers (cached or read) the probe touches, from PostgreSQL's own accounting. */
    async function buffersTouched(): Promise<number> {
      const probe = pendingProbe(store.db).compile();
      const { rows } = await store.db.executeQuery<{ 'QUERY PLAN': [{ Plan: { 'Shared Hit Blocks': number; 'Shared Read Blocks': number } }] }>(
        CompiledQuery.raw(`explain (analyze, buffers, format json) ${probe.sql}`, [...probe.parameters]),
      );
      const plan = rows[0]!['QUERY PLAN'][0].Plan;
      return plan['Shared Hit Blocks'] + plan['Shared Read Blocks'];
    }

    it('reads index pages, not the heap of the 20,000 dead rows that items chained before it left behind', async () => {
      // What the sequencer leaves after chaining 20,000 items: their rows deleted, not yet vacuumed (~1,300 heap pages).
      await sql`insert into audit_pending (account_id, timestamp, body) select 'a', g, repeat('x', 400) from generate_series(1, 20000) g`.execute(store.db);
      await sql`delete from audit_pending`.execute(store.db);
      const heapPages = Number((await sql<{ pages: string }>`select pg_relation_size('audit_pending') / 8192 as pages`.execute(store.db)).rows[0]!.pages);
      expect(heapPages).toBeGreaterThan(1000);

      // The first probe visits the dead rows once and marks their index entries dead (amortised over the items).
      expect(await pendingProbe(store.db).executeTakeFirst()).toBeUndefined();
      // Every later one walks the index's leaf pages past them (about 55 here), never the heap's rows: a sequential
      // scan read every heap page on every pass.
      expect(await buffersTouched()).toBeLessThan(heapPages / 10);

      await sql`insert into audit_pending (account_id, timestamp, body) values ('a', 1, '{}')`.execute(store.db);
      expect(await pendingProbe(store.db).executeTakeFirst()).toBeDefined();
    });
  });
