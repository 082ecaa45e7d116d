import type { Compilable, InsertResult, Kysely, OperationNodeSource, SelectQueryBuilder, Transaction } from 'kysely';
import type { Database } from './schema.js';

/** The store's types, apart from its implementation (database.ts), so that helpers like group-commit.ts can use them. */
export type Dialect = 'sqlite' | 'postgres';
export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** Either the database or an open transaction: repositories accept both so callers decide the unit of work. */
export type Executor = Db | Tx;
/** An insert built and not run yet, that a unit of work made only of inserts runs with others (Store.insertTogether). */
export type Insert = Compilable<InsertResult> & OperationNodeSource;

export interface Store {
  db: Db;
  dialect: Dialect;
  /** Runs a unit of work in a database transaction; on SQLite, units arriving together share one commit. */
  write<T>(work: (trx: Tx) => Promise<T>): Promise<T>;
  /**
   * Runs a short write of its own, outside any business transaction (the rate counters' statement): on PostgreSQL
   * straight on the pool, so it commits alone and holds its row locks for that one statement; on SQLite in the group
   * commit (its single writer has no row locks to hold, and a commit of its own would cost more than the statement).
   */
  autocommit<T>(work: (executor: Executor) => Promise<T>): Promise<T>;
  /**
   * Runs a unit of work made only of inserts whose rows are known beforehand (Start onboarding), all or nothing. On
   * PostgreSQL it is ONE statement committed alone, one round trip where a transaction takes a begin, a round trip
   * per insert and a commit; on SQLite a unit of the group commit.
   */
  insertTogether(inserts: readonly Insert[]): Promise<void>;
  /** Locks the selected rows until the database transaction ends (PostgreSQL); SQLite serialises writers anyway. */
  lockForUpdate<DB, TB extends keyof DB, O>(query: SelectQueryBuilder<DB, TB, O>): SelectQueryBuilder<DB, TB, O>;
  /** Locks the selected rows, skipping rows another transaction holds: how several workers share one queue. */
  claimForUpdate<DB, TB extends keyof DB, O>(query: SelectQueryBuilder<DB, TB, O>): SelectQueryBuilder<DB, TB, O>;
  /**
   * Candidacy for a role that one process at a time holds among every process on this database (the audit
   * sequencer). PostgreSQL: a session-level advisory lock on a connection of its own; SQLite: granted at once, the
   * server being the only process that serves (it holds the server lock).
   */
  election(role: string): Election;
  /** Checks that the database answers (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface Election {
  /** True while this process holds the role, taking it when it is free; false while another process holds it. */
  lead(): Promise<boolean>;
  /** Gives the role up, if held, and closes the connection that held it. */
  close(): Promise<void>;
}
