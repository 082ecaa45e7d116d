import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest, openStore, type Store } from '../../src/store/database.js';
import { preparedQuery } from '../../src/store/prepared.js';
import { testDatabases } from '../support/databases.js';

for (const database of testDatabases) {
  describe(`prepared queries (${database.name})`, () => {
    let store: Store;
    let drop: () => Promise<void>;
    beforeAll(async () => {
      const created = await database.create();
      drop = created.drop;
      store = openStore(created.url);
      await migrateToLatest(store.db);
      for (const id of ['a', 'b'])
        await store.db
          .insertInto('accounts')
          .values({ id, name: `account ${id}`, created_at: 1 })
          .execute();
    });
    afterAll(async () => {
      await store?.close();
      await drop?.();
    });

    it('compiles once and runs with each call’s own arguments, on the handle and inside transactions', async () => {
      const byId = preparedQuery((executor, id: string) => executor.selectFrom('accounts').select(['id', 'name']).where('id', '=', id));
      expect(await byId(store.db, 'a')).toEqual([{ id: 'a', name: 'account a' }]);
      expect(await byId(store.db, 'b')).toEqual([{ id: 'b', name: 'account b' }]);
      expect(await byId(store.db, 'none')).toEqual([]);
      expect(await store.write((trx) => byId(trx, 'b'))).toEqual([{ id: 'b', name: 'account b' }]);
    });

    it('refuses a query that binds anything but its arguments, in order', async () => {
      const withLiteral = preparedQuery((executor, id: string) => executor.selectFrom('accounts').select('id').where('id', '=', id).where('name', '=', 'x'));
      await expect(withLiteral(store.db, 'a')).rejects.toThrow(/must bind exactly its arguments/);
      const swapped = preparedQuery((executor, id: string, name: string) =>
        executor.selectFrom('accounts').select('id').where('name', '=', name).where('id', '=', id),
      );
      await expect(swapped(store.db, 'a', 'account a')).rejects.toThrow(/must bind exactly its arguments/);
    });
  });
}
