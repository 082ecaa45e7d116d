import { expect, it } from 'vitest';
import { type CounterWindow, type RateCounters, SLOTS } from '../../src/security/rate-counters.js';

const WINDOW: CounterWindow = { ms: 60_000, purpose: 'guessing' };
const SLOT = WINDOW.ms / SLOTS;

/**
 * What every rate-counter backend must do (rate-counters.ts): the same tests for the database on each dialect, this
 * process's memory and Redis. `counters()` gives the backend under test; keys are made unique per test.
 */
export function counterBehaviour(counters: () => RateCounters): void {
  const unique = () => `test:${Math.random().toString(36).slice(2)}`;
  // A slot boundary, well away from the real time so that no other test's keys are near.
  const t0 = 1_900_000_000_000 - (1_900_000_000_000 % WINDOW.ms);

  it('counts each key over a sliding window: events stop counting a window after they happened', async () => {
    const [a, b] = [unique(), unique()];
    // t0 + 60 s was a boundary of fixed windows: a second before it and a second after, both events count.
    expect(await counters().add([a, b], WINDOW, t0 + 59_000)).toEqual([1, 1]);
    expect(await counters().add([a], WINDOW, t0 + 61_000)).toEqual([2]);
    expect(await counters().add([a], WINDOW, t0 + 118_999)).toEqual([3]);
    // The events of t0 + 59 s are a window old at t0 + 119 s, and no longer count.
    expect(await counters().add([a, b], WINDOW, t0 + 119_000)).toEqual([3, 1]);
    expect(await counters().add([a], WINDOW, t0 + 121_000)).toEqual([3]);
  });

  it('never counts less than the events of the last window, even when the oldest slot mixes old and recent events', async () => {
    const key = unique();
    await counters().add([key], WINDOW, t0 + 100);
    await counters().add([key], WINDOW, t0 + SLOT - 100);
    // At t0 + 60 s + 200 ms the first event is a window old, the second is not: both still count (conservative).
    expect(await counters().add([key], WINDOW, t0 + WINDOW.ms + 200)).toEqual([3]);
    // Once the oldest slot's latest event is a window old, the slot no longer counts.
    expect(await counters().add([key], WINDOW, t0 + WINDOW.ms + SLOT - 100)).toEqual([2]);
  });

  it('gives concurrent events distinct counts, so a bound is exact under concurrency', async () => {
    const key = unique();
    const counts = await Promise.all(Array.from({ length: 20 }, () => counters().add([key], WINDOW, t0 + 5)));
    expect(counts.map(([count]) => count).sort((x, y) => x! - y!)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('gives distinct counts per key to concurrent events counting under different sets of keys', async () => {
    const [client, source] = [unique(), unique()];
    const calls = Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? [source] : [source, client]));
    const counts = await Promise.all(calls.map((keys) => counters().add(keys, WINDOW, t0 + 11)));
    const sorted = (values: number[]) => values.sort((x, y) => x - y);
    expect(sorted(counts.map((c) => c[0]!))).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(sorted(counts.filter((c) => c.length === 2).map((c) => c[1]!))).toEqual(Array.from({ length: 8 }, (_, i) => i + 1));
  });

  it('takes back an event counted at the same time, never below zero', async () => {
    const key = unique();
    await counters().add([key], WINDOW, t0 + 7);
    await counters().add([key], WINDOW, t0 + 8);
    await counters().remove([key], WINDOW, t0 + 9);
    expect(await counters().add([key], WINDOW, t0 + 10)).toEqual([2]);
    const other = unique();
    await counters().remove([other], WINDOW, t0 + 9);
    expect(await counters().add([other], WINDOW, t0 + 10)).toEqual([1]);
  });
}
