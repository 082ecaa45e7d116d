import { describe, expect, it } from 'vitest';
import { isoTime } from '../../src/shared/runtime.js';

describe('isoTime', () => {
  it('writes what toISOString writes, at the edges of days, seconds and years and at random instants', () => {
    const edges = [0, 1, 9, 10, 99, 100, 999, 1000, 59_999, 60_000, 3_599_999, 86_399_999, 86_400_000, 951_782_400_000, 253_402_300_799_999];
    const random = Array.from({ length: 20_000 }, () => Math.floor(Math.random() * 253_402_300_800_000));
    for (const ms of [...edges, ...random, Date.now()]) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });

  it('leaves instants outside 1970–9999 and fractional milliseconds to toISOString, and throws on an invalid time', () => {
    for (const ms of [-1, -86_400_001, 253_402_300_800_000, 1.5]) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
  });

  it('gives the same answer for a day whose prefix it kept as for one it formats afresh', () => {
    const ms = Date.UTC(2026, 11, 2, 23, 59, 59, 7);
    expect(isoTime(ms)).toBe('2026-12-02T23:59:59.007Z');
    expect(isoTime(ms + 1)).toBe('2026-12-02T23:59:59.008Z');
    expect(isoTime(ms + 993)).toBe('2026-12-03T00:00:00.000Z');
  });
});
