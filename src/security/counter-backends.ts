import type { Clock } from '../shared/runtime.js';
import type { Store } from '../store/database.js';
import { DatabaseCounters } from './counters.js';
import { type CounterWindow, type LimitPurpose, MemoryCounters, type RateCounters } from './rate-counters.js';
import { RedisCounters } from './redis-counters.js';
import { SyncedCounters } from './synced-counters.js';

/** Where the counters report that Redis stopped or started answering (the server's logger). */
export interface CounterLog {
  warn(details: object, message: string): void;
  info(details: object, message: string): void;
}

/** After a failed Redis call, counts go to the fallbacks for this long before Redis is tried again. */
export const REDIS_RETRY_MS = 5000;

/** Guessing bounds in one backend, load limits in another. */
export class CountersByPurpose implements RateCounters {
  constructor(private readonly backends: Record<LimitPurpose, RateCounters>) {}

  add(keys: readonly string[], window: CounterWindow, now: number): Promise<number[]> {
    return this.backends[window.purpose].add(keys, window, now);
  }

  remove(keys: readonly string[], window: CounterWindow, now: number): Promise<void> {
    return this.backends[window.purpose].remove(keys, window, now);
  }

  async sync(): Promise<void> {
    await Promise.all([this.backends.guessing.sync?.(), this.backends.load.sync?.()]);
  }

  async close(): Promise<void> {
    await Promise.all([this.backends.guessing.close(), this.backends.load.close()]);
  }
}

/**
 * Redis with fallbacks, so that a Redis outage never turns requests into errors (each limit's fallback is chosen by
 * its purpose, see LimitPurpose): guessing bounds count in the database, which stays exact across instances; load
 * limits count in this process's memory, so a burst adds no hot row to the database while Redis is away. When counting
 * moves from one backend to the other, the events counted in the one just left are not seen by the other until they
 * age out: around a switch a bound can admit up to twice its value within one window (once per backend).
 */
export class ResilientCounters implements RateCounters {
  private downSince: number | undefined;
  private readonly fallback: RateCounters;

  constructor(
    private readonly deps: {
      primary: RateCounters;
      guessing: RateCounters;
      load: RateCounters;
      clock: Clock;
      log?: CounterLog;
    },
  ) {
    this.fallback = new CountersByPurpose({ guessing: deps.guessing, load: deps.load });
  }

  /** Waits for the primary's first connection (at server start); a failure only means counting starts on the fallbacks. */
  async connect(): Promise<boolean> {
    try {
      await this.deps.primary.connect?.();
      return true;
    } catch (error) {
      this.failed(error);
      return false;
    }
  }

  add(keys: readonly string[], window: CounterWindow, now: number): Promise<number[]> {
    return this.route((backend) => backend.add(keys, window, now));
  }

  remove(keys: readonly string[], window: CounterWindow, now: number): Promise<void> {
    return this.route((backend) => backend.remove(keys, window, now));
  }

  async close(): Promise<void> {
    await Promise.all([this.deps.primary.close(), this.fallback.close()]);
  }

  private async route<T>(call: (backend: RateCounters) => Promise<T>): Promise<T> {
    if (this.downSince !== undefined && this.deps.clock.now() - this.downSince < REDIS_RETRY_MS) return call(this.fallback);
    try {
      const result = await call(this.deps.primary);
      if (this.downSince !== undefined) this.deps.log?.info({ rateCounters: 'redis' }, 'Redis answers again: rate counters are shared through it');
      this.downSince = undefined;
      return result;
    } catch (error) {
      this.failed(error);
      return call(this.fallback);
    }
  }

  private failed(error: unknown): void {
    if (this.downSince === undefined) {
      this.deps.log?.warn(
        { rateCounters: 'fallback', reason: error instanceof Error ? error.message : String(error) },
        'Redis does not answer: guessing bounds count in the database, request rates per instance, until it is back',
      );
    }
    this.downSince = this.deps.clock.now();
  }
}

/**
 * Redis (with its fallbacks) when REUSEID_REDIS_URL is set. Without it, guessing bounds count in the database, exact
 * across instances and across a restart (a guesser gets no fresh budget). Load limits: on PostgreSQL each instance
 * counts in memory and shares its counts through the database every second (SyncedCounters: no statement per
 * request, a documented tolerance across instances); SQLite serves a single process (the server holds the file's
 * lock), so there they count in its memory, as exact as in the database. A restart forgets them, which a load limit
 * can afford.
 */
export function createRateCounters(deps: {
  store: Pick<Store, 'autocommit' | 'db' | 'dialect'>;
  clock: Clock;
  redis: { url: string | null; keyPrefix: string };
  log?: CounterLog;
}): RateCounters {
  const database = new DatabaseCounters(deps.store);
  if (!deps.redis.url) return new CountersByPurpose({ guessing: database, load: loadCounters(deps, database) });
  const primary = new RedisCounters(deps.redis.url, `${deps.redis.keyPrefix}rate:`);
  return new ResilientCounters({ primary, guessing: database, load: new MemoryCounters(), clock: deps.clock, log: deps.log });
}

function loadCounters(deps: { store: Pick<Store, 'dialect'>; clock: Clock; log?: CounterLog }, database: DatabaseCounters): RateCounters {
  if (deps.store.dialect === 'sqlite') return new MemoryCounters();
  let failing = false;
  return new SyncedCounters({
    database,
    now: () => deps.clock.now(),
    onError: (error) => {
      // Once per outage: counting goes on in memory, and the events are written when the database answers again.
      if (!failing)
        deps.log?.warn({ reason: error instanceof Error ? error.message : String(error) }, 'Rate counters could not be shared through the database');
      failing = true;
    },
    onSynced: () => {
      failing = false;
    },
  });
}
