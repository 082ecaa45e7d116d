import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { migrateToLatest, openStore, type Store } from '../../src/store/database.js';

describe('WAL checkpoints in a worker thread (SQLite, the server store)', () => {
  const dirs: string[] = [];
  const stores: Store[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  /** A store on a new file, and about 2 MB of committed rows: all in the WAL, below SQLite's own 1,000-page checkpoint. */
  const filled = async (backgroundCheckpoints: boolean) => {
    const dir = mkdtempSync(join(tmpdir(), 'reuseid-checkpoint-'));
    dirs.push(dir);
    const path = join(dir, 'db.sqlite');
    const store = openStore(`sqlite:${path}`, { backgroundCheckpoints });
    stores.push(store);
    await migrateToLatest(store.db);
    const sizeBefore = statSync(path).size;
    for (let batch = 0; batch < 4; batch++) {
      const rows = Array.from({ length: 100 }, (_, i) => ({ id: `a-${batch}-${i}`, name: 'x'.repeat(4000), created_at: 1 }));
      await store.write((trx) => trx.insertInto('accounts').values(rows).execute());
    }
    return { path, sizeBefore };
  };

  it('copies committed pages into the database file without a commit doing it', async () => {
    const { path, sizeBefore } = await filled(true);
    await expect.poll(() => statSync(path).size, { timeout: 5000, interval: 50 }).toBeGreaterThan(sizeBefore + 1_000_000);
  });

  it('leaves them in the WAL without the worker (the reference: SQLite checkpoints at 1,000 pages)', async () => {
    const { path, sizeBefore } = await filled(false);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(statSync(path).size).toBeLessThan(sizeBefore + 1_000_000);
  });
});
