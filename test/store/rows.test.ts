import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { useMigratedStore } from '../support/store.js';

/** Rows come back as plain objects of their columns, whatever the driver builds them from (on SQLite, arrays). */
for (const database of testDatabases) {
  describe(`rows read (${database.name})`, () => {
    const t = useMigratedStore(database);

    it('holds every column in order, nulls and numbers included, each read a new object', async () => {
      await t.store.db.insertInto('accounts').values({ id: 'a', name: 'Account A', created_at: 1_700_000_000_000 }).execute();
      const read = () => t.store.db.selectFrom('accounts').select(['name', 'id', 'created_at']).where('id', '=', 'a').execute();
      const [first] = await read();
      expect(Object.keys(first!)).toEqual(['name', 'id', 'created_at']);
      expect(first).toEqual({ name: 'Account A', id: 'a', created_at: 1_700_000_000_000 });
      first!.name = 'changed by the caller';
      const [second] = await read();
      expect(second).toEqual({ name: 'Account A', id: 'a', created_at: 1_700_000_000_000 });
      expect(await t.store.db.selectFrom('accounts').select('id').where('id', '=', 'none').execute()).toEqual([]);
    });

    it('gives the rows a statement returns, and a repeated column name its last value', async () => {
      const inserted = await t.store.db.insertInto('accounts').values({ id: 'b', name: 'B', created_at: 2 }).returning(['id', 'created_at']).execute();
      expect(inserted).toEqual([{ id: 'b', created_at: 2 }]);
      const { rows } = await sql<{ x: string; y: null }>`select 'first' as x, null as y, 'last' as x`.execute(t.store.db);
      expect(rows).toEqual([{ x: 'last', y: null }]);
    });
  });
}
