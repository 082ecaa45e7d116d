import { randomBytes } from 'node:crypto';
import pg from 'pg';

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
  async create() {
    const name = `reuseid_test_${randomBytes(6).toString('hex')}`;
    await adminQuery(`CREATE DATABASE ${name}`);
    const url = new URL(postgresUrl!);
    url.pathname = `/${name}`;
    return { url: url.toString(), drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
  },
};

async function adminQuery(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

export const testDatabases: TestDatabase[] = postgresUrl ? [sqlite, postgres] : [sqlite];
