import type { Config } from '../config.js';
import { purgeSpentNonces } from '../devices/device-auth.js';
import { expireLapsedOperations } from '../devices/operations.js';
import { purgeStagedChunks, STAGED_CHUNK_TTL_MS } from '../dossier/evidence-chunks.js';
import { purgeExpiredEvents } from '../events/outbox.js';
import { purgeExpiredIdempotencyRecords } from '../http/idempotency.js';
import { purgeRateCounters } from '../security/counters.js';
import type { Clock } from '../shared/runtime.js';
import type { Store } from '../store/database.js';
import type { FlowStateMachine } from './state.js';
import { findOverdue, findTransaction, type Transaction } from './transaction.js';

export interface SweepDeps {
  store: Pick<Store, 'db' | 'write'>;
  clock: Clock;
  flows: Pick<FlowStateMachine, 'transition'>;
  config: Pick<Config, 'sweepIntervalSeconds'>;
}

/**
 * Ends Pending transactions whose time is up. Reads already show them Expired (see effectiveStatus); this records
 * it, with its audit item and event, exactly once even when several instances sweep at the same time.
 */
export async function expireTransaction(ctx: Omit<SweepDeps, 'config'>, tx: Transaction): Promise<Transaction> {
  const ended = await ctx.store.write((trx) => ctx.flows.transition(trx, tx, 'expire'));
  return ended ?? (await findTransaction(ctx.store.db, tx.id)) ?? tx;
}

export async function sweepExpired(ctx: Omit<SweepDeps, 'config'>, batchSize = 100): Promise<number> {
  const now = ctx.clock.now();
  let expired = 0;
  for (const tx of await findOverdue(ctx.store.db, now, batchSize)) {
    // Counts only what this sweep recorded: another instance may have recorded the same expiry a moment earlier.
    if (await ctx.store.write((trx) => ctx.flows.transition(trx, tx, 'expire'))) expired++;
  }
  await purgeSpentRecords(ctx, now);
  return expired;
}

/**
 * Forgets what only mattered for a while: used nonces, old counters, idempotency records, long-expired events, and
 * evidence chunks an upload staged but a crash kept it from adopting or discarding.
 */
async function purgeSpentRecords(ctx: Omit<SweepDeps, 'config'>, now: number): Promise<void> {
  const db = ctx.store.db;
  await purgeSpentNonces(db, now);
  await expireLapsedOperations(db, now);
  await purgeRateCounters(db, now - 24 * 3600 * 1000);
  await purgeExpiredIdempotencyRecords(db, now);
  await purgeExpiredEvents(db, now);
  await purgeStagedChunks(db, now - STAGED_CHUNK_TTL_MS);
}

/** Runs the sweeper on an interval until stopped; failures are logged and retried on the next tick. */
export function startSweeper(ctx: SweepDeps, log: { error: (obj: unknown, msg: string) => void }): () => Promise<void> {
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
