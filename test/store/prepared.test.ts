import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/database.js';
import { namedStatement, preparedQuery, statementName } from '../../src/store/prepared.js';
import { testDatabases } from '../support/databases.js';
import { useMigratedStore } from '../support/store.js';

for (const database of testDatabases) {
  describe(`prepared queries (${database.name})`, () => {
    const t = useMigratedStore(database);
    beforeAll(async () => {
      for (const id of ['a', 'b'])
        await t.store.db
          .insertInto('accounts')
          .values({ id, name: `account ${id}`, created_at: 1 })
          .execute();
    });

    it('compiles once and runs with each call’s own arguments, on the handle and inside transactions', async () => {
      const byId = preparedQuery((executor, id: string) => executor.selectFrom('accounts').select(['id', 'name']).where('id', '=', id));
      expect(await byId(t.store.db, 'a')).toEqual([{ id: 'a', name: 'account a' }]);
      expect(await byId(t.store.db, 'b')).toEqual([{ id: 'b', name: 'account b' }]);
      expect(await byId(t.store.db, 'none')).toEqual([]);
      expect(await t.store.write((trx) => byId(trx, 'b'))).toEqual([{ id: 'b', name: 'account b' }]);
    });

    it('never shows a read on the handle the rows of a transaction still open, even on SQLite’s one connection', async () => {
      const byId = preparedQuery((executor, id: string) => executor.selectFrom('accounts').select(['id']).where('id', '=', id));
      expect(await byId(t.store.db, 'a')).toEqual([{ id: 'a' }]); // compiled: later calls take the driver's path
      let inserted!: () => void;
      const insertedSignal = new Promise<void>((resolve) => (inserted = resolve));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const rolledBack = new Error('rolled back');
      const unit = t.store
        .write(async (trx) => {
          await trx.insertInto('accounts').values({ id: 'uncommitted', name: 'never committed', created_at: 1 }).execute();
          inserted();
          await released;
          throw rolledBack;
        })
        .catch((error: unknown) => error);
      await insertedSignal;
      // Run while the unit's transaction is open: on SQLite it shares the connection, so it must wait for the end.
      const read = byId(t.store.db, 'uncommitted');
      release();
      expect(await unit).toBe(rolledBack);
      expect(await read).toEqual([]);
    });

    it('refuses a query that binds anything but its arguments, in order', async () => {
      const withLiteral = preparedQuery((executor, id: string) => executor.selectFrom('accounts').select('id').where('id', '=', id).where('name', '=', 'x'));
      await expect(withLiteral(t.store.db, 'a')).rejects.toThrow(/must bind exactly its arguments/);
      const swapped = preparedQuery((executor, id: string, name: string) =>
        executor.selectFrom('accounts').select('id').where('name', '=', name).where('id', '=', id),
      );
      await expect(swapped(t.store.db, 'a', 'account a')).rejects.toThrow(/must bind exactly its arguments/);
    });

    it('refuses a query that does not name its columns', async () => {
      const all = preparedQuery((executor, id: string) => executor.selectFrom('accounts').selectAll().where('id', '=', id));
      await expect(all(t.store.db, 'a')).rejects.toThrow(/must name its columns/);
      const returningAll = preparedQuery((executor, name: string, id: string) =>
        executor.updateTable('accounts').set({ name }).where('id', '=', id).returningAll(),
      );
      await expect(returningAll(t.store.db, 'account a', 'a')).rejects.toThrow(/must name its columns/);
    });

    if (database.name === 'postgres') {
      it('runs as a named statement, prepared once per connection, which a migration adding a column does not break', async () => {
        const byId = preparedQuery((executor, id: string) => executor.selectFrom('accounts').select(['id', 'name']).where('id', '=', id));
        const rolledBack = new Error('rolled back');
        // One transaction is one connection: prepare, add a column as a newer version's migration would, run again.
        const outcome = await t.store
          .write(async (trx) => {
            expect(await byId(trx, 'a')).toEqual([{ id: 'a', name: 'account a' }]);
            const prepared = (await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements`.execute(trx)).rows;
            const statement = prepared.find((s) => s.statement.includes('from "accounts"'));
            expect(statement?.name).toMatch(/^reuseid_[0-9a-f]{24}$/);
            expect(statement?.name).toBe(statementName(statement!.statement));
            await sql`alter table accounts add column added_by_a_newer_version text`.execute(trx);
            expect(await byId(trx, 'b')).toEqual([{ id: 'b', name: 'account b' }]);
            throw rolledBack;
          })
          .catch((error: unknown) => error);
        expect(outcome).toBe(rolledBack);
      });

      it('runs a query on the handle, outside transactions, as a named statement too', async () => {
        for (const namedStatements of [true, false]) {
          const store = openStore(t.url, { poolSize: 1, namedStatements });
          try {
            const byId = preparedQuery((executor, id: string) => executor.selectFrom('accounts').select(['id', 'created_at']).where('id', '=', id));
            expect(await byId(store.db, 'a')).toEqual([{ id: 'a', created_at: 1 }]);
            expect(await byId(store.db, 'b')).toEqual([{ id: 'b', created_at: 1 }]);
            // One connection in the pool: this runs where the two reads ran.
            const prepared = (await sql<{ name: string }>`select name from pg_prepared_statements`.execute(store.db)).rows.map((r) => r.name);
            expect(prepared.some((name) => name.startsWith('reuseid_'))).toBe(namedStatements);
          } finally {
            await store.close();
          }
        }
      });

      it('runs every statement unnamed when named statements are off (behind a pooler that cannot carry them)', async () => {
        const store = openStore(t.url, { namedStatements: false });
        try {
          const byId = preparedQuery((executor, id: string) => executor.selectFrom('accounts').select(['name']).where('id', '=', id));
          const prepared = await store.write(async (trx) => {
            expect(await byId(trx, 'a')).toEqual([{ name: 'account a' }]);
            return (await sql<{ name: string }>`select name from pg_prepared_statements`.execute(trx)).rows;
          });
          expect(prepared).toEqual([]);
        } finally {
          await store.close();
        }
      });

      it('runs a registered write as a named statement', async () => {
        await t.store.write(async (trx) => {
          const insert = namedStatement(trx.insertInto('accounts').values({ id: 'named', name: 'named', created_at: 1 }));
          await trx.executeQuery(insert);
          const prepared = (await sql<{ name: string }>`select name from pg_prepared_statements`.execute(trx)).rows.map((r) => r.name);
          expect(prepared).toContain(statementName(insert.sql));
        });
      });
    }
  });
}

// Last in this file: it fills the process-wide registry.
describe('named statements', () => {
  it('are bounded in number: a caller whose SQL text varies runs unnamed past the bound instead of filling every connection', async () => {
    const store = openStore('sqlite::memory:');
    try {
      const inList = (n: number) =>
        store.db
          .selectFrom('accounts')
          .select('id')
          .where(
            'id',
            'in',
            Array.from({ length: n }, (_, i) => `a${i}`),
          );
      expect(statementName(namedStatement(inList(1)).sql)).toMatch(/^reuseid_[0-9a-f]{24}$/);
      for (let n = 2; n <= 300; n++) namedStatement(inList(n));
      expect(statementName(namedStatement(inList(301)).sql)).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
