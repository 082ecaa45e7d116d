import { defineConfig } from 'vitest/config';

/**
 * The fault suite (`npm run test:faults`): server processes on a throwaway PostgreSQL of its own, killed and cut off
 * on purpose. Kept out of `npm test` (whose pattern is *.test.ts) because it takes minutes and needs the PostgreSQL
 * 15 server binaries.
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.faults.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
