import { describe, expect, it } from 'vitest';
import { isUniqueViolation, type Executor } from '../../src/store/database.js';
import { rowInsert } from '../../src/store/row-insert.js';
import { testDatabases } from '../support/databases.js';
import { useMigratedStore } from '../support/store.js';

// Both kinds of insert: Kysely's builder, compiled every time, and the row insert of the hot paths, whose compiled text
// PostgreSQL's one-statement form reuses for every later call with the same shapes.
const kinds = [
  { kind: 'query builder', build: (executor: Executor, table: 'accounts' | 'api_clients', row: object) => executor.insertInto(table).values(row as never) },
  { kind: 'row insert', build: (executor: Executor, table: 'accounts' | 'api_clients', row: object) => rowInsert(executor, table, row as never) },
];

for (const database of testDatabases) {
  for (const { kind, build } of kinds)
    describe(`inserts run together (${database.name}, ${kind})`, () => {
      const t = useMigratedStore(database);
      const account = (id: string) => build(t.store.db, 'accounts', { id, name: `account ${id}`, created_at: 1 });
      const client = (id: string, accountId: string) =>
        build(t.store.db, 'api_clients', {
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

      it('gives each sequence of rows its own statement, whichever ran before', async () => {
        await t.store.insertTogether([account('h'), account('i'), client('client-h', 'h')]);
        await t.store.insertTogether([account('j'), client('client-j', 'j'), account('k')]);
        await t.store.insertTogether([account('l'), client('client-l', 'l')]);
        expect(await accountIds()).toEqual(['a', 'b', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l']);
        const clients = await t.store.db
          .selectFrom('api_clients')
          .select(['id', 'account_id'])
          .where('id', 'in', ['client-h', 'client-j', 'client-l'])
          .orderBy('id')
          .execute();
        expect(clients).toEqual([
          { id: 'client-h', account_id: 'h' },
          { id: 'client-j', account_id: 'j' },
          { id: 'client-l', account_id: 'l' },
        ]);
      });
    });
}
