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

export const isoTime = (ms: number): string => new Date(ms).toISOString();
