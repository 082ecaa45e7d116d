import { describe, expect, it } from 'vitest';
import { isUniqueViolation } from '../../src/store/database.js';
import { testDatabases } from '../support/databases.js';
import { useMigratedStore } from '../support/store.js';

for (const database of testDatabases) {
  describe(`inserts run together (${database.name})`, () => {
    const t = useMigratedStore(database);
    const account = (id: string) => t.store.db.insertInto('accounts').values({ id, name: `account ${id}`, created_at: 1 });
    const client = (id: string, accountId: string) =>
      t.store.db.insertInto('api_clients').values({
        id,
        account_id: accountId,
        name: id,
        secret_hash: 'hash',
        permissions: '[]',
        token_ttl_seconds: 600,
        created_at: 1,
        disabled_at: null,
      });
    const accountIds = async () => (await t.store.db.selectFrom('accounts').select('id').orderBy('id').execute()).map((row) => row.id);

    it('stores every row, a row referring to another inserted beside it included', async () => {
      await t.store.insertTogether([account('a'), client('client-a', 'a'), account('b')]);
      expect(await accountIds()).toEqual(['a', 'b']);
      const clients = await t.store.db.selectFrom('api_clients').select(['id', 'account_id']).execute();
      expect(clients).toEqual([{ id: 'client-a', account_id: 'a' }]);
    });

    it('stores nothing when one insert fails, whichever it is', async () => {
      const failure = await t.store.insertTogether([account('c'), account('a')]).catch((error: unknown) => error);
      expect(isUniqueViolation(failure)).toBe(true);
      await expect(t.store.insertTogether([account('d'), client('client-d', 'no such account')])).rejects.toThrow();
      expect(await accountIds()).toEqual(['a', 'b']);
    });

    it('runs the same inserts again with other values (one SQL text, named once on PostgreSQL)', async () => {
      for (const id of ['e', 'f', 'g']) await t.store.insertTogether([account(id), client(`client-${id}`, id)]);
      expect(await accountIds()).toEqual(['a', 'b', 'e', 'f', 'g']);
    });
  });
}
