import { sql } from 'kysely';
import type { Db, Executor } from '../store/database.js';
import { type CounterWindow, type RateCounters, SLOTS, slotMs, slotOf } from './rate-counters.js';

/**
 * Sliding-window counters in the database (the default backend, and the fallback of guessing bounds when Redis is
 * down), shared by every instance behind a load balancer: an attacker gains nothing by spreading requests over
 * instances or connections. The owner of `rate_counters`: one row per key and slot (`window_start` is the slot's
 * start), with the slot's latest event time (`last_at`) so the oldest slot stops counting as soon as it can.
 *
 * Each `add` is ONE autocommit statement, whatever the number of keys: it upserts the current slot of every key and
 * returns each key's sliding count (the current slot's count, exact under the row lock, plus the earlier slots').
 * Callers run it on its own, never inside a business transaction, so a hot key's row is locked for one statement
 * and its commit, not for a unit of work. Keys are sorted so two statements lock shared rows in the same order
 * (PostgreSQL would otherwise deadlock them).
 *
 * Concurrency: events of the same slot are serialised by the row lock and get distinct counts. An event of a new
 * slot may not see an event of the previous slot still being committed elsewhere at that very moment: around a slot
 * boundary, concurrent requests can overshoot a bound by the number of requests in flight on that key at once.
 */
export class DatabaseCounters implements RateCounters {
  constructor(private readonly db: Db) {}

  async add(keys: readonly string[], window: CounterWindow, now: number): Promise<number[]> {
    const distinct = [...new Set(keys)].sort();
    if (distinct.length === 0) return [];
    const slot = slotOf(window, now) * slotMs(window);
    const oldest = slot - SLOTS * slotMs(window);
    const { rows } = await sql<{ counter_key: string; total: number | string }>`
      INSERT INTO rate_counters (counter_key, window_start, count, last_at)
      VALUES ${sql.join(distinct.map((key) => sql`(${key}, ${slot}, 1, ${now})`))}
      ON CONFLICT (counter_key, window_start) DO UPDATE SET
        count = rate_counters.count + 1,
        last_at = CASE WHEN rate_counters.last_at > excluded.last_at THEN rate_counters.last_at ELSE excluded.last_at END
      RETURNING counter_key, count + (
        SELECT coalesce(sum(earlier.count), 0) FROM rate_counters earlier
        WHERE earlier.counter_key = rate_counters.counter_key AND earlier.window_start >= ${oldest} AND earlier.window_start < ${slot}
          AND NOT (earlier.window_start = ${oldest} AND earlier.last_at <= ${now - window.ms})
      ) AS total`.execute(this.db);
    const totals = new Map(rows.map((row) => [row.counter_key, Number(row.total)]));
    return keys.map((key) => totals.get(key) ?? 0);
  }

  async remove(keys: readonly string[], window: CounterWindow, now: number): Promise<void> {
    if (keys.length === 0) return;
    await this.db
      .updateTable('rate_counters')
      .set({ count: sql`count - 1` })
      .where('counter_key', 'in', [...new Set(keys)].sort())
      .where('window_start', '=', slotOf(window, now) * slotMs(window))
      .where('count', '>', 0)
      .execute();
  }

  async close(): Promise<void> {}
}

/** Forgets slots no window still counts (the longest window is far shorter than a day). */
export async function purgeRateCounters(executor: Executor, olderThan: number): Promise<void> {
  await executor.deleteFrom('rate_counters').where('window_start', '<', olderThan).execute();
}
