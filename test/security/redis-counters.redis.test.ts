import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createContext } from '../../src/context.js';
import { RedisCounters } from '../../src/security/redis-counters.js';
import { testDatabases } from '../support/databases.js';
import { createHarness, TEST_MASTER_KEY, type Harness } from '../support/harness.js';
import { counterBehaviour } from '../support/rate-counters.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';

// Part of the run only with REUSEID_TEST_REDIS_URL (vitest.config.ts).
describe('rate counters in Redis', () => {
  const prefix = uniquePrefix();
  const one = new RedisCounters(redisUrl!, prefix);
  const other = new RedisCounters(redisUrl!, prefix);
  beforeAll(async () => {
    await one.connect();
    await other.connect();
  });
  afterAll(async () => {
    await one.close();
    await other.close();
  });

  counterBehaviour(() => one);

  it('shares counts between instances, each with its own connection', async () => {
    const window = { ms: 60_000, purpose: 'load' as const };
    const now = 1_900_000_000_000;
    const counts = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? one : other).add(['shared'], window, now)));
    expect(counts.map(([count]) => count).sort((a, b) => a! - b!)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  });
});

for (const database of testDatabases) {
  describe(`the server with REUSEID_REDIS_URL (${database.name})`, () => {
    let h: Harness;
    let second: Awaited<ReturnType<typeof buildApp>>;
    beforeAll(async () => {
      h = await createHarness(database, {
        REUSEID_REDIS_URL: redisUrl!,
        REUSEID_REDIS_KEY_PREFIX: uniquePrefix(),
        REUSEID_RATE_LIMIT_TOKEN_PER_CLIENT: '4',
        REUSEID_ACTIVATION_MAX_FAILURES_PER_SOURCE: '3',
      });
      second = await buildApp(createContext({ config: h.ctx.config, store: h.ctx.store, masterKey: TEST_MASTER_KEY, clock: h.clock }));
      expect(await h.ctx.rateCounters.connect?.()).toBe(true);
    });
    afterAll(async () => {
      await second?.close();
      await h?.close();
    });

    it('counts tokens in Redis, shared by every instance over a sliding minute, and writes no counter row', async () => {
      const client = await h.ctx.clients.create(h.ctx.store.db, { name: 'redis', permissions: ['reuseid-onboarding'] });
      const request = (app: typeof second) =>
        app
          .inject({
            method: 'POST',
            url: '/auth/open/connect/token',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            payload: `grant_type=client_credentials&client_id=${client.clientId}&client_secret=${client.clientSecret}`,
          })
          .then((r) => r.statusCode);
      const boundary = (Math.floor(h.clock.now() / 60_000) + 2) * 60_000;
      h.clock.set(boundary - 1000);
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push(await request(i % 2 ? second : h.app));
      h.clock.set(boundary + 1000);
      statuses.push(await request(second));
      expect(statuses).toEqual([200, 200, 200, 200, 429]);
      h.clock.set(boundary - 1000 + 60_000);
      expect(await request(h.app)).toBe(200);
      const rows = await h.ctx.store.db.selectFrom('rate_counters').select('counter_key').where('counter_key', 'like', 'rate:token:%').execute();
      expect(rows).toEqual([]);
    });

    it('bounds activation guesses in Redis', async () => {
      const activate = (ip: string) =>
        h.app
          .inject({
            method: 'POST',
            url: '/device/v1/activations',
            remoteAddress: ip,
            headers: { 'content-type': 'application/json' },
            payload: { activationCode: '0000000000', proof: 'x' },
          })
          .then((r) => r.statusCode);
      const statuses = [];
      for (let i = 1; i <= 4; i++) statuses.push(await activate(`198.51.100.${i}`));
      expect(statuses.slice(0, 3).every((s) => s !== 429)).toBe(true);
      expect(statuses[3]).toBe(429);
      expect(await h.ctx.store.db.selectFrom('rate_counters').select('counter_key').execute()).toEqual([]);
    });
  });
}
