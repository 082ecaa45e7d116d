import { randomBytes, randomInt, randomUUID } from 'node:crypto';

/** Time source, injected so that expiry, validity and retries can be tested by moving time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that tests move by hand. */
export class ManualClock implements Clock {
  constructor(private current = Date.now()) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
  set(ms: number): void {
    this.current = ms;
  }
}

/** Random source, injected for the same reason as the clock. */
export interface RandomSource {
  uuid(): string;
  bytes(n: number): Buffer;
  /** A uniformly random string of decimal digits. */
  digits(n: number): string;
}

export const cryptoRandom: RandomSource = {
  uuid: () => randomUUID(),
  bytes: (n) => randomBytes(n),
  digits: (n) => Array.from({ length: n }, () => randomInt(0, 10)).join(''),
};

const DAY_MS = 86_400_000;
/** 10000-01-01T00:00:00Z: from there on toISOString writes six-digit years. */
const FOUR_DIGIT_YEARS_END = 253_402_300_800_000;
const dayPrefixes = new Map<number, string>();
const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);

/**
 * `new Date(ms).toISOString()`, with the date part kept per day: Get onboarding writes two or three timestamps per
 * answer, and V8's toISOString (a runtime call that formats the whole string) showed at 2–3 % of its CPU in the profile.
 * Outside 1970–9999, and for anything but a whole number of ms, it is toISOString itself (which throws on NaN).
 */
export function isoTime(ms: number): string {
  if (!(ms >= 0 && ms < FOUR_DIGIT_YEARS_END && Number.isInteger(ms))) return new Date(ms).toISOString();
  const day = Math.floor(ms / DAY_MS);
  let prefix = dayPrefixes.get(day);
  if (prefix === undefined) {
    if (dayPrefixes.size >= 4096) dayPrefixes.clear();
    prefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
    dayPrefixes.set(day, prefix);
  }
  let rest = ms - day * DAY_MS;
  const millis = rest % 1000;
  rest = (rest - millis) / 1000;
  const seconds = rest % 60;
  rest = (rest - seconds) / 60;
  const minutes = rest % 60;
  const hours = (rest - minutes) / 60;
  return `${prefix}${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}
