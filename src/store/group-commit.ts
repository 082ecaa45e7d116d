import { CompiledQuery } from 'kysely';
import type { Db, Tx } from './types.js';

// Compiled once: a tagged `sql` template is built and compiled again on every use, up to three times per unit.
const SAVEPOINT = CompiledQuery.raw('savepoint unit');
const RELEASE = CompiledQuery.raw('release savepoint unit');
const ROLLBACK = CompiledQuery.raw('rollback to savepoint unit');

/**
 * Group commit for SQLite. Its writers take turns on one connection and each commit writes every touched page to
 * the WAL, which in the profile cost more than everything else a token request does. Units of work that arrive
 * together run one after the other inside one database transaction, each in a savepoint of its own (so one
 * failing unit rolls back alone), and share a single commit; each caller is answered only once that commit is
 * done, so durability is unchanged. (PostgreSQL runs each unit in its own transaction, in parallel: see Store.)
 */
type Unit = { work: (trx: Tx) => Promise<unknown>; resolve: (value: unknown) => void; reject: (error: unknown) => void };

export class GroupCommit {
  private queue: Unit[] = [];
  private draining = false;

  constructor(private readonly db: Db) {}

  run<T>(work: (trx: Tx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.draining) {
        this.draining = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length) await this.commitBatch(this.queue.splice(0, 100));
    this.draining = false;
  }

  private async commitBatch(batch: Unit[]): Promise<void> {
    if (batch.length === 1) return this.commitAlone(batch[0]!);
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      await this.db.transaction().execute(async (trx) => {
        for (const unit of batch) {
          await trx.executeQuery(SAVEPOINT);
          try {
            outcomes.push({ ok: true, value: await unit.work(trx) });
            await trx.executeQuery(RELEASE);
          } catch (error) {
            outcomes.push({ ok: false, error });
            await trx.executeQuery(ROLLBACK);
            await trx.executeQuery(RELEASE);
          }
        }
      });
    } catch (error) {
      for (const unit of batch) unit.reject(error);
      return;
    }
    batch.forEach((unit, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) unit.resolve(outcome.value);
      else unit.reject(outcome.error);
    });
  }

  /** A unit alone needs no savepoint: its failure rolls back the transaction, which holds nothing else. */
  private async commitAlone(unit: Unit): Promise<void> {
    try {
      unit.resolve(await this.db.transaction().execute(unit.work));
    } catch (error) {
      unit.reject(error);
    }
  }
}
