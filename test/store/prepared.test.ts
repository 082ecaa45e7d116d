import { beforeAll, describe, expect, it } from 'vitest';
import { preparedQuery } from '../../src/store/prepared.js';
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

    it('refuses a query that binds anything but its arguments, in order', async () => {
      const withLiteral = preparedQuery((executor, id: string) => executor.selectFrom('accounts').select('id').where('id', '=', id).where('name', '=', 'x'));
      await expect(withLiteral(t.store.db, 'a')).rejects.toThrow(/must bind exactly its arguments/);
      const swapped = preparedQuery((executor, id: string, name: string) =>
        executor.selectFrom('accounts').select('id').where('name', '=', name).where('id', '=', id),
      );
      await expect(swapped(t.store.db, 'a', 'account a')).rejects.toThrow(/must bind exactly its arguments/);
    });
  });
}
