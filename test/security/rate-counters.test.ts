import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ResilientCounters, REDIS_RETRY_MS } from '../../src/security/counter-backends.js';
import { DatabaseCounters, purgeRateCounters } from '../../src/security/counters.js';
import { type CounterWindow, MemoryCounters, type RateCounters } from '../../src/security/rate-counters.js';
import { ManualClock } from '../../src/shared/runtime.js';
import { migrateToLatest, openStore } from '../../src/store/database.js';
import { migrations } from '../../src/store/migrations/index.js';
import { testDatabases } from '../support/databases.js';
import { createHarness, type Harness } from '../support/harness.js';
import { counterBehaviour } from '../support/rate-counters.js';

for (const database of testDatabases) {
  describe(`rate counters in the database (${database.name})`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(database);
    });
    afterAll(() => h?.close());
    counterBehaviour(() => new DatabaseCounters(h.ctx.store));

    it('counts every key of a call in one statement, and the sweeper forgets slots older than a day', async () => {
      const counters = new DatabaseCounters(h.ctx.store);
      const now = h.clock.now();
      const window: CounterWindow = { ms: 60_000, purpose: 'load' };
      await counters.add(['purge:old', 'purge:old'], window, now - 25 * 3600 * 1000);
      expect(await counters.add(['purge:new', 'purge:new2', 'purge:new'], window, now)).toEqual([1, 1, 1]);
      await purgeRateCounters(h.ctx.store.db, now - 24 * 3600 * 1000);
      const left = await h.ctx.store.db.selectFrom('rate_counters').select('counter_key').where('counter_key', 'like', 'purge:%').execute();
      expect(left.map((r) => r.counter_key).sort()).toEqual(['purge:new', 'purge:new2']);
    });
  });
}

for (const database of testDatabases) {
  it(`keeps the counts written before migration 015 until their fixed window ended (${database.name})`, async () => {
    const { url, drop } = await database.create();
    const store = openStore(url);
    try {
      await new Migrator({ db: store.db, provider: { getMigrations: async () => migrations } }).migrateTo('012_outbox_subject');
      const t = 1_900_000_020_000 - (1_900_000_020_000 % 60_000);
      await sql`INSERT INTO rate_counters (counter_key, window_start, count) VALUES ('rate:token:client:old', ${t}, 5)`.execute(store.db);
      await migrateToLatest(store.db);
      const counters = new DatabaseCounters(store);
      const minute: CounterWindow = { ms: 60_000, purpose: 'load' };
      expect(await counters.add(['rate:token:client:old'], minute, t + 59_000)).toEqual([6]);
      expect(await counters.add(['rate:token:client:old'], minute, t + 60_000)).toEqual([2]);
    } finally {
      await store.close();
      await drop();
    }
  });
}

describe('rate counters in memory (the fallback of load limits)', () => {
  const memory = new MemoryCounters();
  counterBehaviour(() => memory);

  it('forgets the keys a window no longer counts, not only once it holds MAX_KEYS of them', async () => {
    const counters = new MemoryCounters();
    const minute: CounterWindow = { ms: 60_000, purpose: 'load' };
    const t = 1_900_000_000_000;
    // One key per device, as signed requests per device count: a new device's key each time.
    for (let i = 0; i < 500; i++) await counters.add([`device:${i}`], minute, t + i);
    expect(counters.size).toBe(500);
    expect(await counters.add(['device:late'], minute, t + 30_000)).toEqual([1]);
    expect(counters.size).toBe(501);
    // A window and a slot later the first 500 count nothing: they are dropped at the next prune.
    expect(await counters.add(['device:new'], minute, t + 67_000)).toEqual([1]);
    expect(counters.size).toBe(2);
  });
});

describe('Redis with fallbacks', () => {
  const window = (purpose: 'guessing' | 'load'): CounterWindow => ({ ms: 60_000, purpose });
  const failing = (): RateCounters & { calls: number } => ({
    calls: 0,
    async add() {
      this.calls++;
      throw new Error('connect ECONNREFUSED');
    },
    async remove() {
      this.calls++;
      throw new Error('connect ECONNREFUSED');
    },
    async close() {},
  });

  it('counts guessing bounds in the database and load limits in memory while Redis fails, and tries Redis again later', async () => {
    const clock = new ManualClock(1_900_000_000_000);
    const primary = failing();
    const guessing = new MemoryCounters();
    const load = new MemoryCounters();
    const warnings: string[] = [];
    const counters = new ResilientCounters({ primary, guessing, load, clock, log: { warn: (_, m) => warnings.push(m), info: () => undefined } });
    expect(await counters.add(['k'], window('guessing'), clock.now())).toEqual([1]);
    expect(await counters.add(['k'], window('guessing'), clock.now())).toEqual([2]);
    expect(await counters.add(['k'], window('load'), clock.now())).toEqual([1]);
    expect(await guessing.add(['k'], window('guessing'), clock.now())).toEqual([3]);
    expect(await load.add(['k'], window('load'), clock.now())).toEqual([2]);
    // One failed call, then the fallbacks alone until the retry delay has passed; one warning for the outage.
    expect(primary.calls).toBe(1);
    expect(warnings).toHaveLength(1);
    clock.advance(REDIS_RETRY_MS);
    await counters.add(['k'], window('load'), clock.now());
    expect(primary.calls).toBe(2);
    expect(warnings).toHaveLength(1);
  });

  it('goes back to Redis once it answers', async () => {
    const clock = new ManualClock(1_900_000_000_000);
    const primary = new MemoryCounters();
    let down = true;
    const flaky: RateCounters = {
      add: (...args) => (down ? Promise.reject(new Error('down')) : primary.add(...args)),
      remove: (...args) => primary.remove(...args),
      close: async () => undefined,
    };
    const infos: string[] = [];
    const counters = new ResilientCounters({
      primary: flaky,
      guessing: new MemoryCounters(),
      load: new MemoryCounters(),
      clock,
      log: { warn: () => undefined, info: (_, m) => infos.push(m) },
    });
    await counters.add(['k'], window('load'), clock.now());
    down = false;
    clock.advance(REDIS_RETRY_MS);
    expect(await counters.add(['k'], window('load'), clock.now())).toEqual([1]);
    expect(await primary.add(['k'], window('load'), clock.now())).toEqual([2]);
    expect(infos).toHaveLength(1);
  });
});

/** A client-credentials token request, secret in the body. */
const tokenRequest = (h: Harness, clientId: string, clientSecret: string) =>
  h.app.inject({
    method: 'POST',
    url: '/auth/open/connect/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `grant_type=client_credentials&client_id=${clientId}&client_secret=${clientSecret}`,
  });

for (const database of testDatabases) {
  describe(`the server when its Redis does not answer (${database.name})`, () => {
    let h: Harness;
    beforeAll(async () => {
      // Nothing listens on port 1: every connection attempt is refused.
      h = await createHarness(database, {
        REUSEID_REDIS_URL: 'redis://127.0.0.1:1',
        REUSEID_RATE_LIMIT_TOKEN_PER_CLIENT: '4',
        REUSEID_ACTIVATION_MAX_FAILURES_PER_SOURCE: '3',
      });
    });
    afterAll(() => h?.close());

    it('still issues tokens, their rate limited by each instance on its own', async () => {
      const client = await h.ctx.clients.create(h.ctx.store.db, { name: 'no redis', permissions: ['reuseid-onboarding'] });
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await tokenRequest(h, client.clientId, client.clientSecret)).statusCode);
      expect(statuses).toEqual([200, 200, 200, 200, 429]);
      expect(await h.ctx.store.db.selectFrom('rate_counters').select('counter_key').where('counter_key', 'like', 'rate:token:%').execute()).toEqual([]);
    });

    it('keeps guessing bounded, counting failures in the database shared by every instance', async () => {
      const statuses = [];
      for (let i = 1; i <= 4; i++) {
        const response = await h.app.inject({
          method: 'POST',
          url: '/device/v1/activations',
          remoteAddress: `198.51.100.${i}`,
          headers: { 'content-type': 'application/json' },
          payload: { activationCode: '0000000000', proof: 'x' },
        });
        statuses.push(response.statusCode);
      }
      expect(statuses.slice(0, 3).every((s) => s !== 429 && s < 500)).toBe(true);
      expect(statuses[3]).toBe(429);
      const rows = await h.ctx.store.db
        .selectFrom('rate_counters')
        .select(['counter_key', 'count'])
        .where('counter_key', 'like', 'activation-failures:source:%')
        .execute();
      expect(rows).toEqual([{ counter_key: 'activation-failures:source:198.51.100.0/24', count: 3 }]);
    });
  });
}

for (const database of testDatabases) {
  describe(`the server without Redis (${database.name})`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(database, { REUSEID_RATE_LIMIT_TOKEN_PER_CLIENT: '3' });
    });
    afterAll(() => h?.close());

    // SQLite has one server process: its memory is as exact as the database for a load limit. PostgreSQL has many,
    // which count in memory too and share their counts through the database every second (SyncedCounters).
    const loadLimitsIn = database.name === 'sqlite' ? 'memory' : 'memory, shared through the database';

    it(`limits token requests per client, counting them in ${loadLimitsIn}, and guessing bounds in the database`, async () => {
      const client = await h.ctx.clients.create(h.ctx.store.db, { name: 'limited', permissions: ['reuseid-onboarding'] });
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await tokenRequest(h, client.clientId, client.clientSecret)).statusCode);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const counted = (pattern: string) =>
        h.ctx.store.db.selectFrom('rate_counters').select(['counter_key', 'count']).where('counter_key', 'like', pattern).execute();
      if (database.name === 'sqlite') expect(await counted('rate:token:client:%')).toEqual([]);
      // The three admitted requests reach the shared row at the next sync; the refused one was taken back.
      else await vi.waitFor(async () => expect((await counted('rate:token:client:%')).map((row) => row.count)).toEqual([3]), { timeout: 5000 });
      await tokenRequest(h, client.clientId, 'wrong');
      expect(await counted('%client-failures%')).toHaveLength(1);
    });
  });
}
