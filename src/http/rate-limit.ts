import type { AppContext } from '../context.js';
import type { Executor } from '../store/database.js';
import { WindowCounters } from '../security/counters.js';
import { errors } from '../shared/errors.js';

/**
 * Per-minute request limits, counted in the database so that N instances behind a load balancer share one budget
 * (an in-process counter would allow N times the limit). A request over a limit is refused with 429 and
 * Retry-After before any work is done for it.
 */
const minute = new WindowCounters(60_000);

export async function enforceRateLimit(ctx: AppContext, rule: string, perMinute: number, key: string | undefined, executor: Executor = ctx.store.db): Promise<void> {
  if (key === undefined) return;
  const now = ctx.clock.now();
  const count = await minute.increment(executor, `rate:${rule}:${key}`, now);
  if (count > perMinute) throw errors.tooManyRequests(minute.retryAfterSeconds(now));
}
