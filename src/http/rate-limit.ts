import type { Clock } from '../shared/runtime.js';
import { type CounterWindow, type LimitPurpose, type RateCounters, retryAfterSeconds } from '../security/rate-counters.js';
import { errors } from '../shared/errors.js';

/** One limit a request is counted under. No key (nothing to count by): no limit. */
export interface RateRule {
  rule: string;
  perMinute: number;
  key: string | undefined;
}

const minute = (purpose: LimitPurpose): CounterWindow => ({ ms: 60_000, purpose });

/**
 * Per-minute request limits over a sliding minute, counted in the shared rate counters (the database, or Redis) so
 * that N instances behind a load balancer share one budget (on SQLite, one process: in its memory). A request over a limit is refused with 429 and
 * Retry-After before any work is done for it, and is not counted: a client over its limit gets in again as soon as
 * its admitted requests age out. The count is its own short statement, never part of the request's unit of work.
 */
export class RateLimiter {
  constructor(private readonly deps: { counters: RateCounters; clock: Clock }) {}

  /** Counts a request of `key` under `rule`; refuses it when over the limit. */
  async enforce(rule: string, perMinute: number, key: string | undefined, purpose: LimitPurpose = 'load'): Promise<void> {
    await this.enforceAll([{ rule, perMinute, key }], purpose);
  }

  /** Counts a request under several rules at once (one round trip); refuses it, counting it under none, if any is over. */
  async enforceAll(rules: readonly RateRule[], purpose: LimitPurpose = 'load'): Promise<void> {
    const counted = rules.filter((r): r is RateRule & { key: string } => r.key !== undefined);
    if (counted.length === 0) return;
    const window = minute(purpose);
    const now = this.deps.clock.now();
    const keys = counted.map((r) => `rate:${r.rule}:${r.key}`);
    const counts = await this.deps.counters.add(keys, window, now);
    if (counts.every((count, i) => count <= counted[i]!.perMinute)) return;
    await this.deps.counters.remove(keys, window, now);
    throw errors.tooManyRequests(retryAfterSeconds(window));
  }
}
