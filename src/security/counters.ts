import { sql } from 'kysely';
import type { Executor, Store } from '../store/database.js';
import { type CounterSlot, type CounterWindow, type RateCounters, SLOTS, slotMs, slotOf } from './rate-counters.js';

/** One `add` waiting for its statement. */
interface PendingAdd {
  keys: readonly string[];
  window: CounterWindow;
  now: number;
  resolve: (counts: number[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Sliding-window counters in the database (the default backend, and the fallback of guessing bounds when Redis is
 * down), shared by every instance behind a load balancer: an attacker gains nothing by spreading requests over
 * instances or connections. The owner of `rate_counters`: one row per key and slot (`window_start` is the slot's
 * start), with the slot's latest event time (`last_at`) so the oldest slot stops counting as soon as it can.
 *
 * Counting is one statement of its own (Store.autocommit), never part of a business transaction, so a hot key's row
 * is locked for one statement and its commit, not for a unit of work (on SQLite it shares the group commit). It upserts the current slot of every key and returns each key's
 * sliding count (the current slot's, exact under the row lock, plus the earlier slots'). Keys are sorted so two
 * statements lock shared rows in the same order (PostgreSQL would otherwise deadlock them).
 *
 * Pre-aggregation: while a counting statement runs, the adds arriving in this process wait and then share ONE
 * statement, which adds each key's number of events at once (`count + n`); the n counts that key reaches are handed
 * out to its events in arrival order. A burst on one key thus costs a statement per round trip, not per request, and
 * a busy client's tokens no longer queue on its row lock one by one, while every count stays exact (distinct counts,
 * nothing deferred): no tolerance is traded for it.
 *
 * Concurrency across instances: events of the same slot are serialised by the row lock and get distinct counts. An
 * event of a new slot may not see an event of the previous slot still being committed elsewhere at that very moment:
 * around a slot boundary, concurrent statements can overshoot a bound by the events they carry.
 */
export class DatabaseCounters implements RateCounters {
  private queue: PendingAdd[] = [];
  private draining = false;

  constructor(private readonly store: Pick<Store, 'autocommit' | 'db'>) {}

  add(keys: readonly string[], window: CounterWindow, now: number): Promise<number[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ keys, window, now, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    while (this.queue.length) {
      const batch = this.queue.splice(0);
      // A statement counts in one slot of one window length: adds of other slots or windows go in statements of their own.
      const groups = new Map<string, PendingAdd[]>();
      for (const add of batch) {
        const group = `${add.window.ms}:${slotOf(add.window, add.now)}`;
        groups.set(group, [...(groups.get(group) ?? []), add]);
      }
      await Promise.all([...groups.values()].map((group) => this.countTogether(group)));
    }
    this.draining = false;
  }

  /** One statement for adds of the same slot; each add gets the counts its own events reached. */
  private async countTogether(adds: PendingAdd[]): Promise<void> {
    const events = new Map<string, number>();
    for (const add of adds) for (const key of new Set(add.keys)) events.set(key, (events.get(key) ?? 0) + 1);
    try {
      const totals = await this.upsert(events, adds[0]!.window, Math.max(...adds.map((a) => a.now)));
      // Key by key, the counts the batch reached are handed out in arrival order: n events of a key reaching T get T-n+1 … T.
      const next = new Map([...events].map(([key, n]) => [key, totals.get(key)! - n + 1]));
      for (const add of adds) {
        const counts = new Map([...new Set(add.keys)].map((key) => [key, next.get(key)!]));
        for (const key of counts.keys()) next.set(key, next.get(key)! + 1);
        add.resolve(add.keys.map((key) => counts.get(key)!));
      }
    } catch (error) {
      for (const add of adds) add.reject(error);
    }
  }

  /** Adds `n` events to each key's current slot; returns each key's sliding count, these events included. */
  private async upsert(events: Map<string, number>, window: CounterWindow, now: number): Promise<Map<string, number>> {
    const slot = slotOf(window, now) * slotMs(window);
    const oldest = slot - SLOTS * slotMs(window);
    const keys = [...events.keys()].sort();
    const { rows } = await this.store.autocommit((executor) =>
      sql<{ counter_key: string; total: number | string }>`
      INSERT INTO rate_counters (counter_key, window_start, count, last_at)
      VALUES ${sql.join(keys.map((key) => sql`(${key}, ${slot}, ${events.get(key)!}, ${now})`))}
      ON CONFLICT (counter_key, window_start) DO UPDATE SET
        count = rate_counters.count + excluded.count,
        last_at = CASE WHEN rate_counters.last_at > excluded.last_at THEN rate_counters.last_at ELSE excluded.last_at END
      RETURNING counter_key, count + (
        SELECT coalesce(sum(earlier.count), 0) FROM rate_counters earlier
        WHERE earlier.counter_key = rate_counters.counter_key AND earlier.window_start >= ${oldest} AND earlier.window_start < ${slot}
          AND NOT (earlier.window_start = ${oldest} AND earlier.last_at <= ${now - window.ms})
      ) AS total`.execute(executor),
    );
    return new Map(rows.map((row) => [row.counter_key, Number(row.total)]));
  }

  async remove(keys: readonly string[], window: CounterWindow, now: number): Promise<void> {
    if (keys.length === 0) return;
    await this.store.autocommit((executor) =>
      executor
        .updateTable('rate_counters')
        .set({ count: sql`count - 1` })
        .where('counter_key', 'in', [...new Set(keys)].sort())
        .where('window_start', '=', slotOf(window, now) * slotMs(window))
        .where('count', '>', 0)
        .execute(),
    );
  }

  /**
   * Adds counts to slots, as an instance that counted them in memory writes them (SyncedCounters): one statement for
   * them all, the keys in the same order in every statement (lock order). A negative count takes events back.
   */
  async addSlots(slots: readonly StoredSlot[]): Promise<void> {
    const rows = [...slots].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.slot - b.slot));
    for (let i = 0; i < rows.length; i += MAX_ROWS) {
      const batch = rows.slice(i, i + MAX_ROWS);
      await this.store.autocommit((executor) =>
        sql`
        INSERT INTO rate_counters (counter_key, window_start, count, last_at)
        VALUES ${sql.join(batch.map((row) => sql`(${row.key}, ${row.slot * slotMs(row.window)}, ${row.count}, ${row.lastAt})`))}
        ON CONFLICT (counter_key, window_start) DO UPDATE SET
          count = CASE WHEN rate_counters.count + excluded.count < 0 THEN 0 ELSE rate_counters.count + excluded.count END,
          last_at = CASE WHEN rate_counters.last_at > excluded.last_at THEN rate_counters.last_at ELSE excluded.last_at END`.execute(executor),
      );
    }
  }

  /** The slots of these keys that their window still counts at `now`, by key. */
  async readSlots(keys: readonly { key: string; window: CounterWindow }[], now: number): Promise<Map<string, CounterSlot[]>> {
    const found = new Map<string, CounterSlot[]>();
    if (keys.length === 0) return found;
    const windows = new Map(keys.map(({ key, window }) => [key, window]));
    const oldest = Math.min(...keys.map(({ window }) => (slotOf(window, now) - SLOTS) * slotMs(window)));
    const names = [...windows.keys()];
    for (let i = 0; i < names.length; i += MAX_ROWS) {
      const rows = await this.store.db
        .selectFrom('rate_counters')
        .select(['counter_key', 'window_start', 'count', 'last_at'])
        .where('counter_key', 'in', names.slice(i, i + MAX_ROWS))
        .where('window_start', '>=', oldest)
        .execute();
      for (const row of rows) {
        const window = windows.get(row.counter_key)!;
        const slots = found.get(row.counter_key) ?? [];
        slots.push({ slot: Math.floor(Number(row.window_start) / slotMs(window)), count: Number(row.count), lastAt: Number(row.last_at) });
        found.set(row.counter_key, slots);
      }
    }
    return found;
  }

  async close(): Promise<void> {}
}

/** A slot's count as an instance writes it (SyncedCounters). */
export interface StoredSlot extends CounterSlot {
  key: string;
  window: CounterWindow;
}

/** Rows per statement (four parameters each; PostgreSQL takes up to 65,535). */
const MAX_ROWS = 1000;

/** Forgets slots no window still counts (the longest window is far shorter than a day). */
export async function purgeRateCounters(executor: Executor, olderThan: number): Promise<void> {
  await executor.deleteFrom('rate_counters').where('window_start', '<', olderThan).execute();
}
