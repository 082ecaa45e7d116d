import { describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { useMigratedStore } from '../support/store.js';

for (const database of testDatabases) {
  describe(`units of work (${database.name})`, () => {
    const t = useMigratedStore(database);

    const insertAccount = (id: string) =>
      t.store.write(async (trx) => {
        await trx.insertInto('accounts').values({ id, name: id, created_at: 1 }).execute();
        return id;
      });

    it('commits concurrent units, and a failing unit rolls back alone', async () => {
      const outcomes = await Promise.allSettled([
        insertAccount('unit-a'),
        t.store.write(async (trx) => {
          await trx.insertInto('accounts').values({ id: 'unit-doomed', name: 'x', created_at: 1 }).execute();
          throw new Error('unit failed after writing');
        }),
        insertAccount('unit-b'),
        insertAccount('unit-a'), // duplicate key: refused, and takes nothing else with it
        insertAccount('unit-c'),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
      const ids = (await t.store.db.selectFrom('accounts').select('id').where('id', 'like', 'unit-%').orderBy('id').execute()).map((r) => r.id);
      expect(ids).toEqual(['unit-a', 'unit-b', 'unit-c']);
    });

    it('answers a unit only once its commit is done: what it wrote is visible to the next read', async () => {
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => insertAccount(`many-${i}`)));
      expect(results).toHaveLength(50);
      const { n } = await t.store.db
        .selectFrom('accounts')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('id', 'like', 'many-%')
        .executeTakeFirstOrThrow();
      expect(Number(n)).toBe(50);
    });
  });
}
