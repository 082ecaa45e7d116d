import type { Db, Executor } from '../store/database.js';
import type { Clock } from '../shared/runtime.js';
import { WindowCounters } from '../security/counters.js';
import { errors } from '../shared/errors.js';

/**
 * Per-minute request limits, counted in the database so that N instances behind a load balancer share one budget
 * (an in-process counter would allow N times the limit). A request over a limit is refused with 429 and
 * Retry-After before any work is done for it.
 */
export class RateLimiter {
  private readonly minute = new WindowCounters(60_000);

  constructor(private readonly deps: { db: Db; clock: Clock }) {}

  /** Counts a request of `key` under `rule`; refuses it when over the limit. No key (nothing to count by): no limit. */
  async enforce(rule: string, perMinute: number, key: string | undefined, executor: Executor = this.deps.db): Promise<void> {
    if (key === undefined) return;
    const now = this.deps.clock.now();
    const count = await this.minute.increment(executor, `rate:${rule}:${key}`, now);
    if (count > perMinute) throw errors.tooManyRequests(this.minute.retryAfterSeconds(now));
  }
}
