import type { AppContext } from '../context.js';
import { purgeExpiredEvents } from '../events/outbox.js';
import { purgeExpiredIdempotencyRecords } from '../http/idempotency.js';
import { WindowCounters } from '../security/counters.js';
import { findOverdue, findTransaction, type Transaction } from './transaction.js';

/**
 * Ends Pending transactions whose time is up. Reads already show them Expired (see effectiveStatus); this records
 * it, with its audit item and event, exactly once even when several instances sweep at the same time.
 */
export async function expireTransaction(ctx: AppContext, tx: Transaction): Promise<Transaction> {
  const ended = await ctx.store.write((trx) => ctx.flows.transition(trx, tx, 'expire'));
  return ended ?? (await findTransaction(ctx.store.db, tx.id)) ?? tx;
}

export async function sweepExpired(ctx: AppContext, batchSize = 100): Promise<number> {
  const now = ctx.clock.now();
  let expired = 0;
  for (const tx of await findOverdue(ctx.store.db, now, batchSize)) {
    // Counts only what this sweep recorded: another instance may have recorded the same expiry a moment earlier.
    if (await ctx.store.write((trx) => ctx.flows.transition(trx, tx, 'expire'))) expired++;
  }
  await purgeSpentRecords(ctx, now);
  return expired;
}

/** Forgets what only mattered for a while: used nonces, old counters, idempotency records, long-expired events. */
async function purgeSpentRecords(ctx: AppContext, now: number): Promise<void> {
  const db = ctx.store.db;
  await db.deleteFrom('device_request_nonces').where('expires_at', '<', now).execute();
  await db.updateTable('device_operations').set({ status: 'expired' }).where('status', '=', 'pending').where('expires_at', '<=', now).execute();
  await WindowCounters.purge(db, now - 24 * 3600 * 1000);
  await purgeExpiredIdempotencyRecords(ctx);
  await purgeExpiredEvents(db, now);
}

/** Runs the sweeper on an interval until stopped; failures are logged and retried on the next tick. */
export function startSweeper(ctx: AppContext, log: { error: (obj: unknown, msg: string) => void }): () => Promise<void> {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = sweepExpired(ctx).catch((err: unknown) => log.error({ err }, 'expiry sweep failed'));
  }, ctx.config.sweepIntervalSeconds * 1000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
