/**
 * The Redis the Redis backend of the rate counters is tested on: set REUSEID_TEST_REDIS_URL (CI sets it when Redis
 * runs). Files named `*.redis.test.ts` are part of the run only then (vitest.config.ts), as `*.pg.test.ts` are with
 * REUSEID_TEST_DATABASE_URL, so that a run without Redis has no file that comes up empty or passes without testing.
 */
export const redisUrl = process.env.REUSEID_TEST_REDIS_URL;

/** A key prefix of one's own, so that test files (and runs) sharing the Redis never count each other's keys. */
export const uniquePrefix = (): string => `reuseid-test-${Math.random().toString(36).slice(2)}:`;
