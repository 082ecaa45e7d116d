import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../src/http/errors-plugin.js';
import { openStore, type Store } from '../../src/store/database.js';
import { postgresUrl, testDatabases } from '../support/databases.js';

/**
 * PostgreSQL going away under a checked-out connection (a restart in the middle of a transaction) must fail that
 * transaction as "unavailable", never crash the process, and leave the pool able to connect again.
 */
// Only PostgreSQL has connections to lose: this file is part of the run when REUSEID_TEST_DATABASE_URL is set (vitest.config.ts).
for (const postgres of testDatabases.filter((d) => d.name === 'postgres'))
  describe('losing the PostgreSQL connection inside a transaction', () => {
    let store: Store;
    let drop: () => Promise<void>;
    let admin: pg.Client;

    beforeAll(async () => {
      const created = await postgres.create();
      drop = created.drop;
      store = openStore(created.url);
      admin = new pg.Client({ connectionString: postgresUrl });
      await admin.connect();
    });

    afterAll(async () => {
      await store.close();
      await admin.end();
      await drop();
    });

    it('rejects the transaction as unavailable and serves the next query on a fresh connection', async () => {
      const failed = await store.db
        .transaction()
        .execute(async (trx) => {
          const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
          const pid = rows[0]!.pid;
          await admin.query('select pg_terminate_backend($1)', [pid]);
          for (let i = 0; i < 100 && (await admin.query('select 1 from pg_stat_activity where pid = $1', [pid])).rowCount; i++) {
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          // The client learns of it while idle in the transaction: its 'error' event must not take the process down.
          await new Promise((resolve) => setTimeout(resolve, 50));
          await sql`select 1`.execute(trx);
        })
        .then(
          () => null,
          (error: unknown) => error,
        );
      expect(isDatabaseUnavailable(failed)).toBe(true);
      expect((await sql<{ one: number }>`select 1 as one`.execute(store.db)).rows).toEqual([{ one: 1 }]);
    });
  });
