/**
 * The rate counters' port: every limit of the server (request rates, activation failures, console sign-in failures)
 * counts through it, whichever backend keeps the counts (the database by default, Redis when REUSEID_REDIS_URL is
 * set, this process's memory as Redis's fallback for load limits).
 *
 * Semantics, the same in every backend: a **sliding window**. A window of W ms is kept as SLOTS sub-windows ("slots")
 * of W/SLOTS ms each; the count of a key is the sum of the current slot and the SLOTS slots before it, except that the
 * oldest of those is left out once its latest event is W old. So every event younger than W is counted, and an event
 * stops counting at most W + W/SLOTS after it happened (only when the oldest slot also holds younger events): the
 * count is never below the true count of the last W ms. A limit of N therefore admits at most N events in ANY span
 * of W ms, where fixed windows admitted 2N across a window boundary; the price is that a key at its bound may wait
 * up to W/SLOTS longer than an exact sliding log would make it wait. Refused events are taken back by the callers,
 * so a client that keeps knocking while over a limit is admitted again as soon as its admitted events age out.
 */

/** How many slots a window is cut into: at most 11 rows per key are summed; a bound lifts at most 10 % late. */
export const SLOTS = 10;

/**
 * What a limit protects, which decides what happens when its shared backend (Redis) cannot answer:
 * - `guessing`: a bound on guesses of a secret (activation codes, console passwords, client secrets). It must hold
 *   at all times, so these fall back to the database, which every request needs anyway.
 * - `load`: a bound on request rates, there to keep one client from taking the server's capacity. These fall back
 *   to this process's memory: each instance then enforces the bound alone, so N instances admit up to N times it
 *   while Redis is down, and no request waits on, or fails with, the outage.
 */
export type LimitPurpose = 'guessing' | 'load';

export interface CounterWindow {
  ms: number;
  purpose: LimitPurpose;
}

export interface RateCounters {
  /**
   * Counts one event under each key at `now` and returns, in the same order, each key's count over the sliding
   * window, this event included. Exact under concurrency: the counts of concurrent events are distinct.
   */
  add(keys: readonly string[], window: CounterWindow, now: number): Promise<number[]>;
  /** Takes back the events that `add` counted at the same `now` (a refused request, a failure slot given back). */
  remove(keys: readonly string[], window: CounterWindow, now: number): Promise<void>;
  /** Backends that share counts periodically (SyncedCounters) share them now: what this instance counted, and back. */
  sync?(): Promise<void>;
  /** Backends with a connection of their own open it at server start; false when it could not be opened. */
  connect?(): Promise<boolean>;
  close(): Promise<void>;
}

export const slotMs = (window: CounterWindow): number => Math.max(1, Math.floor(window.ms / SLOTS));
export const slotOf = (window: CounterWindow, now: number): number => Math.floor(now / slotMs(window));

/**
 * Seconds a refused caller should wait: one slot, when the oldest counted slot (or part of it) stops counting. A hint
 * only: the count may still be at the bound then, and a refused retry costs nothing (refusals are taken back).
 */
export const retryAfterSeconds = (window: CounterWindow): number => Math.max(1, Math.ceil(slotMs(window) / 1000));

/** One key's slots, as the database and Redis backends keep them: the sum of the counted ones. */
export function slidingCount(slots: Iterable<CounterSlot>, window: CounterWindow, now: number): number {
  const current = slotOf(window, now);
  let total = 0;
  for (const { slot, count, lastAt } of slots) {
    if (slot < current - SLOTS) continue;
    if (slot === current - SLOTS && lastAt <= now - window.ms) continue;
    total += count;
  }
  return total;
}

/** A key's events in one slot, as every backend keeps them: how many, and the latest one's time. */
export interface CounterSlot {
  slot: number;
  count: number;
  lastAt: number;
}

/** The slot `slot` among a key's slots, added empty when the key has none yet. */
export function slotIn(slots: CounterSlot[], slot: number, now: number): CounterSlot {
  const found = slots.find((s) => s.slot === slot);
  if (found) return found;
  const created = { slot, count: 0, lastAt: now };
  slots.push(created);
  return created;
}

/**
 * Counts in this process's memory: load limits on SQLite, and their fallback while Redis is down (see LimitPurpose).
 * Keys with nothing left to count are dropped every PRUNE_EVERY_MS, so memory follows the keys of the last window:
 * every device is a key of its own (signed requests per device), and keeping each until MAX_KEYS grew the server's
 * live heap by about 2 MB a minute under a soak of 110 onboardings a second. Bounded: past MAX_KEYS keys, those with
 * nothing left to count are dropped, and if that is not enough, all of them (a load limit then starts again from
 * zero, which only lets more requests in).
 */
export class MemoryCounters implements RateCounters {
  static readonly MAX_KEYS = 100_000;
  static readonly PRUNE_EVERY_MS = 10_000;
  private readonly keys = new Map<string, { window: CounterWindow; slots: CounterSlot[] }>();
  private prunedAt = 0;

  /** The keys held now (for tests). */
  get size(): number {
    return this.keys.size;
  }

  async add(keys: readonly string[], window: CounterWindow, now: number): Promise<number[]> {
    if (this.keys.size >= MemoryCounters.MAX_KEYS || Math.abs(now - this.prunedAt) >= MemoryCounters.PRUNE_EVERY_MS) this.prune(now);
    return keys.map((key) => {
      const slots = this.slotsOf(key, window, now);
      const slot = slotIn(slots, slotOf(window, now), now);
      slot.count += 1;
      slot.lastAt = Math.max(slot.lastAt, now);
      return slidingCount(slots, window, now);
    });
  }

  async remove(keys: readonly string[], window: CounterWindow, now: number): Promise<void> {
    const current = slotOf(window, now);
    for (const key of keys) {
      const slot = this.keys.get(key)?.slots.find((s) => s.slot === current);
      if (slot && slot.count > 0) slot.count -= 1;
    }
  }

  async close(): Promise<void> {
    this.keys.clear();
  }

  /** The key's slots, without those that no longer count. */
  private slotsOf(key: string, window: CounterWindow, now: number): CounterSlot[] {
    const oldest = slotOf(window, now) - SLOTS;
    const slots = (this.keys.get(key)?.slots ?? []).filter((s) => s.slot >= oldest);
    this.keys.set(key, { window, slots });
    return slots;
  }

  private prune(now: number): void {
    this.prunedAt = now;
    for (const [key, entry] of this.keys) if (slidingCount(entry.slots, entry.window, now) === 0) this.keys.delete(key);
    if (this.keys.size >= MemoryCounters.MAX_KEYS) this.keys.clear();
  }
}
