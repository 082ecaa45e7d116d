import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseCounters } from '../../src/security/counters.js';
import type { CounterWindow } from '../../src/security/rate-counters.js';
import { SyncedCounters } from '../../src/security/synced-counters.js';
import { testDatabases } from '../support/databases.js';
import { counterBehaviour } from '../support/rate-counters.js';
import { useMigratedStore } from '../support/store.js';

const window: CounterWindow = { ms: 60_000, purpose: 'load' };
const t0 = 1_900_000_000_000 - (1_900_000_000_000 % window.ms) + 1000;
/** Syncs only when a test says so (the interval timer is a day). */
const DAY = 86_400_000;

for (const database of testDatabases) {
  describe(`load limits counted in memory and shared through the database (${database.name})`, () => {
    const t = useMigratedStore(database);
    const instances: SyncedCounters[] = [];
    const instance = (now = () => t0, database = new DatabaseCounters(t.store)) => {
      const counters = new SyncedCounters({ database, now }, DAY);
      instances.push(counters);
      return counters;
    };
    afterAll(() => Promise.all(instances.map((counters) => counters.close())));

    describe('alone, as exact as the other backends', () => {
      let counters: SyncedCounters;
      beforeAll(() => {
        counters = instance();
      });
      counterBehaviour(() => counters);
    });

    it('sees the other instances’ events once both have synced, and writes each event once', async () => {
      const [a, b] = [instance(), instance()];
      expect(await a.add(['shared'], window, t0)).toEqual([1]);
      expect(await a.add(['shared'], window, t0)).toEqual([2]);
      expect(await a.add(['shared'], window, t0)).toEqual([3]);
      // Not synced yet: b does not see a's events (the documented tolerance).
      expect(await b.add(['shared'], window, t0)).toEqual([1]);
      await a.sync();
      await b.sync();
      expect(await b.add(['shared'], window, t0)).toEqual([5]);
      await a.sync();
      // a has not counted the key since that sync: it read nothing back for it, and decides with what it read
      // then (its own 3) plus this event.
      expect(await a.add(['shared'], window, t0)).toEqual([4]);
      // Its next sync writes that event and reads the key back: b's two written events included, not b's fifth.
      await a.sync();
      expect(await a.add(['shared'], window, t0)).toEqual([6]);
      await a.sync();
      await b.sync();
      // The rows hold every event once, as the database backend reads them.
      expect(await new DatabaseCounters(t.store).add(['shared'], window, t0)).toEqual([8]);
      expect(await b.add(['shared'], window, t0)).toEqual([8]);
    });

    it('takes back an event already written, and the take-back reaches the rows', async () => {
      const [a, b] = [instance(), instance()];
      await a.add(['refund', 'refund'], window, t0);
      await a.sync();
      await a.remove(['refund'], window, t0);
      await a.sync();
      // An instance reads the keys it counts: b's first event of the key counts alone until b syncs.
      expect(await b.add(['refund'], window, t0)).toEqual([1]);
      await b.sync();
      expect(await b.add(['refund'], window, t0)).toEqual([3]);
    });

    it('keeps counting while the database fails, and writes the events once it answers', async () => {
      const real = new DatabaseCounters(t.store);
      let down = true;
      const errors: unknown[] = [];
      const flaky = {
        addSlots: (...args: Parameters<DatabaseCounters['addSlots']>) => (down ? Promise.reject(new Error('down')) : real.addSlots(...args)),
        readSlots: (...args: Parameters<DatabaseCounters['readSlots']>) => real.readSlots(...args),
      };
      const a = new SyncedCounters({ database: flaky, now: () => t0, onError: (error) => errors.push(error) }, DAY);
      instances.push(a);
      expect(await a.add(['outage'], window, t0)).toEqual([1]);
      await a.sync();
      expect(errors).toHaveLength(1);
      expect(await a.add(['outage'], window, t0)).toEqual([2]);
      down = false;
      await a.sync();
      expect(await a.add(['outage'], window, t0)).toEqual([3]);
      const b = instance();
      await b.add(['outage'], window, t0);
      await a.sync();
      await b.sync();
      expect(await b.add(['outage'], window, t0)).toEqual([5]);
    });

    it('counts a sync’s events while it writes them, and not twice once it read them back', async () => {
      const a = instance();
      await a.add(['inflight'], window, t0);
      const syncing = a.sync();
      expect(await a.add(['inflight'], window, t0)).toEqual([2]);
      await syncing;
      expect(await a.add(['inflight'], window, t0)).toEqual([3]);
      await a.sync();
      expect(await a.add(['inflight'], window, t0)).toEqual([4]);
    });

    it('lets events age out of the window after a sync, as the rows do', async () => {
      let now = t0;
      const a = instance(() => now);
      await a.add(['aging'], window, now);
      await a.sync();
      now += window.ms + 1;
      expect(await a.add(['aging'], window, now)).toEqual([1]);
      await a.sync();
      expect(await a.add(['aging'], window, now)).toEqual([2]);
    });
  });
}
