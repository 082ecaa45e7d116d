import { afterAll, beforeAll } from 'vitest';
import { migrateToLatest, openStore, type Store } from '../../src/store/database.js';
import type { TestDatabase } from './databases.js';

/** A migrated store on a fresh database for the enclosing describe block; read `t.store` (and `t.url`) inside tests. */
export function useMigratedStore(database: TestDatabase): { store: Store; url: string } {
  const t = {} as { store: Store; url: string };
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    t.url = created.url;
    t.store = openStore(created.url);
    await migrateToLatest(t.store.db);
  });
  afterAll(async () => {
    await t.store?.close();
    await drop?.();
  });
  return t;
}
