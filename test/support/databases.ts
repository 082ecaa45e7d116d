import { createScratchDatabase } from '../../src/testing/databases/postgres.js';

/**
 * The databases every storage behaviour is tested on: SQLite always, PostgreSQL when REUSEID_TEST_DATABASE_URL is
 * set (CI sets it). Each PostgreSQL harness gets a database of its own, so test files run in parallel safely.
 */
export interface TestDatabase {
  name: 'sqlite' | 'postgres';
  /** Creates a fresh, empty database and returns its URL and a cleanup function. */
  create(): Promise<{ url: string; drop(): Promise<void> }>;
}

export const postgresUrl = process.env.REUSEID_TEST_DATABASE_URL;

const sqlite: TestDatabase = {
  name: 'sqlite',
  create: async () => ({ url: 'sqlite::memory:', drop: async () => undefined }),
};

const postgres: TestDatabase = {
  name: 'postgres',
  create: () => createScratchDatabase(postgresUrl!, 'reuseid_test'),
};

export const testDatabases: TestDatabase[] = postgresUrl ? [sqlite, postgres] : [sqlite];
