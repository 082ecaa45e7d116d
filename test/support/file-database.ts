import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestDatabase } from './databases.js';

/**
 * The CLI opens the database by URL, so SQLite tests of CLI commands need a file rather than an in-memory database:
 * each one in a temporary folder of its own, removed when the database is dropped.
 */
export function fileBacked(database: TestDatabase): TestDatabase {
  if (database.name !== 'sqlite') return database;
  return {
    name: 'sqlite',
    create: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'reuseid-cli-'));
      return { url: `sqlite:${join(dir, 'reuseid.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  };
}
