import { defineConfig } from 'vitest/config';

/**
 * Every storage test runs on SQLite, and on PostgreSQL too when REUSEID_TEST_DATABASE_URL is set. Files named
 * `*.pg.test.ts` are about PostgreSQL alone (its connections, its locks): they are part of the run only then, so that
 * `npm test` on a fresh machine without PostgreSQL runs every file it has and none of them comes up empty. Likewise
 * `*.redis.test.ts` (the Redis backend of the rate counters) with REUSEID_TEST_REDIS_URL.
 */
const withPostgres = Boolean(process.env.REUSEID_TEST_DATABASE_URL);
const withRedis = Boolean(process.env.REUSEID_TEST_REDIS_URL);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**', ...(withPostgres ? [] : ['test/**/*.pg.test.ts']), ...(withRedis ? [] : ['test/**/*.redis.test.ts'])],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
