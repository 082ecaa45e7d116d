import { join } from 'node:path';
import type { TestDatabase } from '../support/databases.js';

/** The CLI opens the database by URL, so SQLite tests of CLI commands need a file rather than an in-memory database. */
export function fileBacked(database: TestDatabase, dir: string): TestDatabase {
  if (database.name !== 'sqlite') return database;
  return { name: 'sqlite', create: async () => ({ url: `sqlite:${join(dir, 'reuseid.db')}`, drop: async () => undefined }) };
}
