import type { DatabaseCounters, StoredSlot } from './counters.js';
import { type CounterSlot, type CounterWindow, MemoryCounters, type RateCounters, SLOTS, slidingCount, slotIn, slotOf } from './rate-counters.js';

/** How often an instance adds what it counted to the shared rows and reads back what every instance counted. */
export const SYNC_MS = 1000;

/** A key's counts as this instance knows them: the shared rows at the last sync, and its own events since. */
interface KeyCounts {
  window: CounterWindow;
  /** Every instance's events as the rows held them at the last sync (this instance's synced ones included). */
  shared: CounterSlot[];
  /** This instance's events being written by the sync under way (counted until the rows read back include them). */
  flushing: CounterSlot[];
  /** This instance's events since, not written yet. */
  local: CounterSlot[];
}

/**
 * Load limits on PostgreSQL without Redis: each instance counts in its memory, and every SYNC_MS adds what it counted
 * to the shared rows (`rate_counters`, through DatabaseCounters, their owner) and reads back what all instances
 * counted. A request thus costs no statement and no row lock: a busy client's token requests no longer queue on its
 * counter row, across instances as within one.
 *
 * Tolerance: an instance decides on a key with the counts it read at its last sync after counting that key (none
 * for a key it counts for the first time), plus its own events since: it does not see what the others counted
 * meanwhile, until the sync that follows. With N instances a bound can thus be passed by what the other N - 1 admit
 * within about one sync interval (two, if a sync is slow), i.e. by about (N - 1) / 60 of a per-minute bound under a
 * steady load at the bound. Alone, an instance is exact. A restart forgets the events of the last interval. Guessing
 * bounds never count here: they stay exact in the database (see LimitPurpose).
 */
export class SyncedCounters implements RateCounters {
  private readonly keys = new Map<string, KeyCounts>();
  private readonly timer: NodeJS.Timeout;
  private syncing: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      database: Pick<DatabaseCounters, 'addSlots' | 'readSlots'>;
      now: () => number;
      onError?: (error: unknown) => void;
      onSynced?: () => void;
    },
    intervalMs = SYNC_MS,
  ) {
    this.timer = setInterval(() => void this.sync(), intervalMs);
    this.timer.unref();
  }

  async add(keys: readonly string[], window: CounterWindow, now: number): Promise<number[]> {
    if (this.keys.size >= MemoryCounters.MAX_KEYS) this.prune(now);
    return keys.map((key) => {
      const counts = this.countsOf(key, window, now);
      const slot = slotIn(counts.local, slotOf(window, now), now);
      slot.count += 1;
      slot.lastAt = Math.max(slot.lastAt, now);
      return total(counts, now);
    });
  }

  /** Takes back an event of the current slot, never below zero: a negative local count is a decrement to write. */
  async remove(keys: readonly string[], window: CounterWindow, now: number): Promise<void> {
    const current = slotOf(window, now);
    for (const key of keys) {
      const counts = this.keys.get(key);
      if (!counts) continue;
      const inSlot = [...counts.shared, ...counts.flushing, ...counts.local].filter((s) => s.slot === current).reduce((n, s) => n + s.count, 0);
      if (inSlot > 0) slotIn(counts.local, current, now).count -= 1;
    }
  }

  /**
   * Writes the events counted since the last sync, then reads back every known key's slots. One sync at a time; a
   * failed one (the database away) keeps its events to write next time, and counting goes on in memory meanwhile.
   */
  sync(): Promise<void> {
    this.syncing ??= this.syncOnce().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.syncing;
    this.keys.clear();
  }

  private async syncOnce(): Promise<void> {
    const now = this.deps.now();
    const written: StoredSlot[] = [];
    // Only the keys counted since the last sync are written and read back: the others are not being decided on (a
    // key's view is refreshed by the sync after this instance counts it), and reading back a minute of keys (one per
    // device) every second cost the database more than the counting saved.
    const active = new Map<string, KeyCounts>();
    for (const [key, counts] of this.keys) {
      counts.flushing = counts.local.filter((s) => s.count !== 0);
      counts.local = [];
      if (counts.flushing.length > 0) active.set(key, counts);
      for (const s of counts.flushing) written.push({ key, window: counts.window, ...s });
    }
    try {
      await this.deps.database.addSlots(written);
      const read = await this.deps.database.readSlots(
        [...active].map(([key, counts]) => ({ key, window: counts.window })),
        now,
      );
      for (const [key, counts] of active) {
        counts.shared = read.get(key) ?? [];
        counts.flushing = [];
      }
      this.deps.onSynced?.();
    } catch (error) {
      // Not written (or not read back): the events stay this instance's own until a sync succeeds.
      for (const counts of active.values()) {
        counts.local.push(...counts.flushing);
        counts.flushing = [];
      }
      this.deps.onError?.(error);
    }
    this.prune(this.deps.now());
  }

  private countsOf(key: string, window: CounterWindow, now: number): KeyCounts {
    const counts = this.keys.get(key) ?? { window, shared: [], flushing: [], local: [] };
    this.keys.set(key, counts);
    const oldest = slotOf(window, now) - SLOTS;
    counts.shared = counts.shared.filter((s) => s.slot >= oldest);
    return counts;
  }

  /** Forgets keys with nothing left to count or to write; past MAX_KEYS, forgets the counts of all (a load limit). */
  private prune(now: number): void {
    for (const [key, counts] of this.keys) {
      if (total(counts, now) === 0 && counts.local.length === 0 && counts.flushing.length === 0) this.keys.delete(key);
    }
    if (this.keys.size >= MemoryCounters.MAX_KEYS) this.keys.clear();
  }
}

function total(counts: KeyCounts, now: number): number {
  return Math.max(0, slidingCount([...counts.shared, ...counts.flushing, ...counts.local], counts.window, now));
}
