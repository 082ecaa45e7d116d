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

    it('reads any column name as a key, quotes, backslashes and line breaks included', async () => {
      const names = ['a"b', "c'd", 'e\\f', 'g\nh', 'i\u2028j', '"}; globalThis.injected = 1; ({"', '`tick`', '0'];
      const select = names.map((name, i) => `${i} as "${name.replaceAll('"', '""')}"`).join(', ');
      const { rows } = await sql.raw<Record<string, number>>(`select ${select}`).execute(t.store.db);
      expect(rows).toHaveLength(1);
      expect(Object.keys(rows[0]!).sort()).toEqual([...names].sort());
      for (const [i, name] of names.entries()) expect(rows[0]![name]).toBe(i);
      expect('injected' in globalThis).toBe(false);
    });

    // On SQLite our own code builds the row; node-postgres assigns each column to the row, and an assignment to
    // __proto__ sets the prototype there (a driver's behaviour, not checked here).
    if (database.name === 'sqlite')
      it("keeps a column named __proto__ as a column, not as the row's prototype", async () => {
        const { rows } = await sql<Record<string, unknown>>`select 1 as "__proto__", 2 as x`.execute(t.store.db);
        expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype);
        expect(Object.getOwnPropertyDescriptor(rows[0], '__proto__')?.value).toBe(1);
        expect(rows[0]!.x).toBe(2);
      });
  });
}
