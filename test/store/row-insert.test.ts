import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { rowInsert } from '../../src/store/row-insert.js';
import { testDatabases } from '../support/databases.js';
import { useMigratedStore } from '../support/store.js';

/** Row inserts reuse one compiled text per table and set of columns: every row must still land as given. */
for (const database of testDatabases) {
  describe(`row inserts (${database.name})`, () => {
    const t = useMigratedStore(database);
    const client = (id: string, disabledAt: number | null | undefined, name = id) =>
      rowInsert(t.store.db, 'api_clients', {
        id,
        account_id: 'a',
        name,
        secret_hash: 'hash',
        permissions: '[]',
        token_ttl_seconds: 600,
        created_at: 1,
        disabled_at: disabledAt,
      });
    const clients = () => t.store.db.selectFrom('api_clients').select(['id', 'name', 'disabled_at']).orderBy('id').execute();

    it('binds each row its own values under one text, and a column left undefined is left out', async () => {
      await t.store.db.insertInto('accounts').values({ id: 'a', name: 'A', created_at: 1 }).execute();
      const inserts = [client('c1', undefined), client('c2', 5, `quote ' "double" \\ \u2028 é`), client('c3', undefined), client('c4', null), client('c5', 7)];
      for (const insert of inserts) await t.store.db.executeQuery(insert);
      expect(await clients()).toEqual([
        { id: 'c1', name: 'c1', disabled_at: null },
        { id: 'c2', name: `quote ' "double" \\ \u2028 é`, disabled_at: 5 },
        { id: 'c3', name: 'c3', disabled_at: null },
        { id: 'c4', name: 'c4', disabled_at: null },
        { id: 'c5', name: 'c5', disabled_at: 7 },
      ]);
      const [first, second, third] = inserts.map((insert) => insert.compile());
      expect(second!.sql).not.toBe(first!.sql);
      expect(third!.sql).toBe(first!.sql);
      expect(third!.parameters).toContain('c3');
      expect(first!.parameters).toContain('c1');
    });

    it('keeps the columns in the order each row gives them', async () => {
      await t.store.db.executeQuery(rowInsert(t.store.db, 'accounts', { id: 'b', name: 'B', created_at: 2 }));
      await t.store.db.executeQuery(rowInsert(t.store.db, 'accounts', { created_at: 3, name: 'C', id: 'c' }));
      const rows = await t.store.db.selectFrom('accounts').select(['id', 'name', 'created_at']).where('id', 'in', ['b', 'c']).orderBy('id').execute();
      expect(rows).toEqual([
        { id: 'b', name: 'B', created_at: 2 },
        { id: 'c', name: 'C', created_at: 3 },
      ]);
    });

    it('writes an SQL expression into the text, and the next plain row of that shape is bound as usual', async () => {
      await t.store.db.executeQuery(rowInsert(t.store.db, 'accounts', { id: 'd', name: 'D', created_at: sql<number>`40 + 2` }));
      await t.store.db.executeQuery(rowInsert(t.store.db, 'accounts', { id: 'e', name: 'E', created_at: 43 }));
      const rows = await t.store.db.selectFrom('accounts').select(['id', 'created_at']).where('id', 'in', ['d', 'e']).orderBy('id').execute();
      expect(rows).toEqual([
        { id: 'd', created_at: 42 },
        { id: 'e', created_at: 43 },
      ]);
    });

    it('runs inside a transaction as on the database handle', async () => {
      await t.store.write(async (trx) => {
        await trx.executeQuery(client('c6', undefined).compile());
        await trx.executeQuery(
          rowInsert(trx, 'api_clients', {
            id: 'c7',
            account_id: 'a',
            name: 'c7',
            secret_hash: 'h',
            permissions: '[]',
            token_ttl_seconds: 1,
            created_at: 1,
            disabled_at: 9,
          }),
        );
      });
      expect((await clients()).slice(-2)).toEqual([
        { id: 'c6', name: 'c6', disabled_at: null },
        { id: 'c7', name: 'c7', disabled_at: 9 },
      ]);
    });
  });
}
