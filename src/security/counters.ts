import { sql } from 'kysely';
import type { Executor } from '../store/database.js';

/**
 * Fixed-window counters in the database, shared by every instance behind a load balancer: an attacker gains
 * nothing by spreading requests over instances or connections. Incrementing first and checking the returned count
 * makes the bound exact under concurrency (no read-then-write race).
 */
export class WindowCounters {
  constructor(private readonly windowMs: number) {}

  windowStart(now: number): number {
    return now - (now % this.windowMs);
  }

  /** Adds one to the counter and returns the new count in the current window. */
  async increment(executor: Executor, key: string, now: number): Promise<number> {
    const row = await executor
      .insertInto('rate_counters')
      .values({ counter_key: key, window_start: this.windowStart(now), count: 1 })
      .onConflict((oc) => oc.columns(['counter_key', 'window_start']).doUpdateSet({ count: sql`rate_counters.count + 1` }))
      .returning('count')
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  async decrement(executor: Executor, key: string, now: number): Promise<void> {
    await executor
      .updateTable('rate_counters')
      .set({ count: sql`count - 1` })
      .where('counter_key', '=', key)
      .where('window_start', '=', this.windowStart(now))
      .execute();
  }

  /** Seconds until the current window ends (for Retry-After). */
  retryAfterSeconds(now: number): number {
    return Math.ceil((this.windowStart(now) + this.windowMs - now) / 1000);
  }

  static async purge(executor: Executor, olderThan: number): Promise<void> {
    await executor.deleteFrom('rate_counters').where('window_start', '<', olderThan).execute();
  }
}
