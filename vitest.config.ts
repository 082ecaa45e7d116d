import { availableParallelism } from 'node:os';
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
    // Vitest runs one file at a time on two cores (it keeps a core for itself), yet most files here wait on spawned
    // processes, databases and timers rather than compute: two at a time took the whole suite on SQLite, PostgreSQL
    // and Redis from 726 s to 486 s on the 2-core CI machine, every test passing. Test files share nothing (each
    // PostgreSQL harness has a database of its own, each server a free port).
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
