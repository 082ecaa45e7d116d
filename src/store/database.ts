import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  Kysely,
  Migrator,
  PostgresDialect,
  sql,
  SqliteDialect,
  type Compilable,
  type MigrationProvider,
  type PostgresPool,
  type PostgresPoolClient,
  type QueryCreator,
  type SqliteStatement,
} from 'kysely';
import pg from 'pg';
import { literalKey } from '../shared/generated-code.js';
import { AdvisoryLockElection, soleProcessElection } from './election.js';
import { GroupCommit } from './group-commit.js';
import { migrations as allMigrations } from './migrations/index.js';
import { namedStatement, runPreparedQueriesDirectly, statementName } from './prepared.js';
import { combinedInserts } from './row-insert.js';
import { BACKSTOP_CHECKPOINT_PAGES, startBackgroundCheckpoints } from './checkpointer.js';
import type { Database } from './schema.js';
import type { Db, Insert, Store } from './types.js';

export type { Db, Dialect, Election, Executor, Insert, Store, Tx } from './types.js';

// node-postgres returns int8 as strings; every bigint we store is epoch milliseconds or a counter, far below 2^53.
pg.types.setTypeParser(20, (value) => Number(value));

const migrations: MigrationProvider = { getMigrations: async () => allMigrations };

export interface StoreOptions {
  /** PostgreSQL connections. */
  poolSize?: number;
  /**
   * PostgreSQL: run the SQL texts of prepared queries (prepared.ts) as named statements (default true). Off for a
   * connection pooler in transaction mode that does not track them (PgBouncer before 1.21, or without
   * max_prepared_statements): a statement prepared on one server connection would be run on another.
   */
  namedStatements?: boolean;
  /**
   * SQLite: hold the database's server lock while the store is open, so that a second server on the same file
   * refuses to start instead of failing later with `database is locked`. Only `serve` takes it: operators run CLI
   * commands (clients create, …) against the file of a running server. PostgreSQL serves many instances: ignored.
   */
  exclusive?: boolean;
  /** SQLite: checkpoint the WAL from a worker thread instead of inside commits (checkpointer.ts). Only `serve` asks. */
  backgroundCheckpoints?: boolean;
}

export function openStore(databaseUrl: string, options: StoreOptions = {}): Store {
  if (databaseUrl.startsWith('postgres://') || databaseUrl.startsWith('postgresql://'))
    return openPostgres(databaseUrl, options.poolSize ?? 10, options.namedStatements ?? true);
  if (databaseUrl.startsWith('sqlite:')) return openSqlite(databaseUrl.slice('sqlite:'.length), options);
  throw new Error(`Unsupported database URL (expected sqlite:PATH or postgres://…): ${redactUrl(databaseUrl)}`);
}

function openSqlite(path: string, options: StoreOptions): Store {
  const onDisk = path !== ':memory:' && path !== '';
  if (onDisk) createOwnerOnly(path);
  const releaseLock = options.exclusive && onDisk ? takeServerLock(path) : () => undefined;
  const sqlite = openSqliteFile(path, releaseLock);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('synchronous = NORMAL');
  let stopCheckpoints: () => Promise<void> = async () => undefined;
  if (options.backgroundCheckpoints && onDisk) {
    sqlite.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
    stopCheckpoints = startBackgroundCheckpoints(path);
  }
  const statements = withStatementCache(sqlite);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: statements }) });
  // Statements run one at a time on the one connection: outside a transaction a read may run at once, synchronously;
  // inside one (a group commit awaiting its units) it would see uncommitted rows, so it waits its turn in Kysely.
  runPreparedQueriesDirectly(db, (text, parameters) => (sqlite.inTransaction ? undefined : statements.prepare(text).all(parameters)));
  const groupCommit = new GroupCommit(db);
  return {
    db,
    dialect: 'sqlite',
    write: (work) => groupCommit.run(work),
    autocommit: (work) => groupCommit.run(work),
    insertTogether: (inserts) =>
      groupCommit.run(async (trx) => {
        for (const insert of inserts) await trx.executeQuery(insert.compile());
      }),
    // One connection, one writer at a time: a transaction's reads already see no concurrent writer.
    lockForUpdate: (query) => query,
    claimForUpdate: (query) => query,
    election: () => soleProcessElection,
    ping: async () => {
      sqlite.prepare('select 1').get();
    },
    close: async () => {
      await stopCheckpoints();
      await db.destroy();
      releaseLock();
    },
  };
}

function openSqliteFile(path: string, releaseLock: () => void): SQLite.Database {
  try {
    return new SQLite(path);
  } catch (error) {
    releaseLock();
    throw error;
  }
}

/**
 * The database holds personal data (sealed) and secrets' hashes: its folder and file are created for the owner only,
 * like master.key beside it. SQLite gives the -wal and -shm files the database file's mode. Existing files keep theirs.
 */
function createOwnerOnly(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/**
 * The server lock: an exclusive SQLite lock on `<database>.lock`, held by an open transaction for the server's
 * lifetime. The operating system drops it when the process dies, so a crashed server leaves no stale lock to clean
 * up, whatever its PID. The file itself stays (deleting it would let a waiting opener lock a file nobody else sees).
 */
function takeServerLock(path: string): () => void {
  const lockPath = `${path}.lock`;
  createOwnerOnly(lockPath);
  const lock = new SQLite(lockPath, { timeout: 0 });
  try {
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    lock.close();
    if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
    throw new Error(
      `Another reuseid server is already running on the SQLite database ${path} (it holds ${lockPath}). ` +
        'Stop it first, or give this server its own database; CLI commands can run beside the running server.',
    );
  }
  return () => lock.close();
}

/**
 * Kysely prepares every query afresh; preparing costs about as much as running a small query, so statements are
 * kept by their SQL text. Queries run one at a time on this connection (Kysely's mutex), so reuse is safe.
 */
function withStatementCache(sqlite: SQLite.Database) {
  const statements = new Map<string, SqliteStatement>();
  return {
    prepare(text: string) {
      // Every transaction here is a unit of work that writes: it takes the write lock at begin, so a writer already
      // busy (the server, or a CLI command beside it) is waited for (busy_timeout) rather than a read turning into a
      // write after another connection committed, which SQLite refuses at once with "database is locked".
      const sql = text === 'begin' ? 'begin immediate' : text;
      let statement = statements.get(sql);
      if (!statement) {
        statement = withRowsBuiltInJs(sqlite.prepare(sql));
        if (!isBatch(sql)) {
          if (statements.size >= 2000) statements.clear();
          statements.set(sql, statement);
        }
      }
      return statement;
    },
    close: () => sqlite.close(),
  };
}

/**
 * better-sqlite3 builds each row object through V8's C++ API on Node 20, one property transition and one column-name
 * internalization per column: 6.5 µs for a transaction row of 22 columns, a tenth of a Get onboarding's CPU time
 * (perf, under load). Asked for arrays instead, it takes 3 µs, and each statement's own row builder (below) turns the
 * array into the same object: the columns in order, a repeated name keeping its last value.
 */
function withRowsBuiltInJs(statement: SQLite.Statement): SqliteStatement {
  if (!statement.reader) return statement;
  statement.raw(true);
  const toObject = rowBuilder(statement.columns().map((column) => column.name));
  return {
    reader: true,
    run: (parameters) => statement.run(parameters),
    all: (parameters) => (statement.all(parameters) as unknown[][]).map(toObject),
    *iterate(parameters) {
      for (const values of statement.iterate(parameters)) yield toObject(values as unknown[]);
    },
  };
}

/**
 * A function of its own for each statement (shared/generated-code.ts), returning one object literal of its columns,
 * built from one boilerplate with the row's final shape. One closure shared by every statement (a clone of a template
 * object, then a store per column) went megamorphic under the server's few dozen statements, and cloning fell to its
 * slow path of one runtime call per column: 1.7 % of the CPU under a Get load (perf), and megamorphic stores besides.
 */
function rowBuilder(names: readonly string[]): (values: unknown[]) => Record<string, unknown> {
  const fields = names.map((name, i) => `${literalKey(name)}: values[${i}]`);
  return new Function('values', `return { ${fields.join(', ')} };`) as (values: unknown[]) => Record<string, unknown>;
}

/**
 * A statement binding this many values is a batch whose text changes with its size (the audit sequencer's deletes,
 * multi-row inserts). Each compiled batch takes tens of kilobytes (500 deletes of 1–500 ids: 25 MB), so caching one
 * per size held tens of megabytes for a prepare that costs little next to the batch itself: batches are not kept.
 */
const MAX_CACHED_PARAMETERS = 32;
const isBatch = (sql: string): boolean => sql.split('?').length - 1 > MAX_CACHED_PARAMETERS;

function openPostgres(url: string, poolSize: number, namedStatements: boolean): Store {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    // Fail fast rather than hang when the database is gone: requests answer 503 and readiness drops.
    connectionTimeoutMillis: 5000,
    query_timeout: 15000,
    idleTimeoutMillis: 30000,
  });
  // An idle client that loses its connection emits 'error' on the pool; without a listener the process would die.
  pool.on('error', () => undefined);
  // A checked-out client (say, between the statements of a transaction) emits it on itself instead, which killed
  // the process when PostgreSQL restarted under load. Its queries fail anyway, and the pool drops it on release.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: namedStatements ? withNamedStatements(pool) : pool }) });
  runPreparedQueriesDirectly(db, async (text, parameters) => (await pool.query(queryConfig(text, parameters, namedStatements))).rows);
  const insertsAsOne = combinedInserts((inserts) => ({ compile: () => namedStatement(asOneStatement(db, inserts)) }));
  return {
    db,
    dialect: 'postgres',
    write: (work) => db.transaction().execute(work),
    autocommit: (work) => work(db),
    insertTogether: async (inserts) => {
      await db.executeQuery(insertsAsOne(inserts));
    },
    lockForUpdate: (query) => query.forUpdate(),
    claimForUpdate: (query) => query.forUpdate().skipLocked(),
    election: (role) => new AdvisoryLockElection(url, role),
    ping: async () => {
      await pool.query('select 1');
    },
    close: () => db.destroy(),
  };
}

/**
 * Inserts as one PostgreSQL statement, each in a data-modifying WITH clause: PostgreSQL runs every such clause exactly
 * once and to completion whatever the main query reads, and checks foreign keys at the statement's end, so a row may
 * refer to one inserted beside it. A statement commits or fails whole, as a transaction would.
 */
function asOneStatement(db: Db, inserts: readonly Insert[]): Compilable<{ inserted: number }> {
  const clauses = inserts.reduce<QueryCreator<Database>>((creator, insert, i) => creator.with(`insert_${i}`, () => insert as never) as never, db);
  return clauses.selectNoFrom(sql<number>`1`.as('inserted'));
}

/** The pool as Kysely sees it, running the SQL texts of prepared queries (prepared.ts) as named statements. */
function withNamedStatements(pool: pg.Pool): PostgresPool {
  const clients = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => ({
    // A string is a query; anything else a cursor (Kysely's streaming), passed on as it is.
    query: ((sql: string, parameters?: readonly unknown[]) =>
      typeof sql === 'string'
        ? client.query(queryConfig(sql, parameters ?? [], true))
        : client.query(sql, parameters as unknown[])) as unknown as PostgresPoolClient['query'],
    release: (destroy) => client.release(destroy),
  });
  return {
    connect: async () => {
      const client = await pool.connect();
      const known = clients.get(client);
      if (known) return known;
      const wrapped = wrap(client);
      clients.set(client, wrapped);
      return wrapped;
    },
    end: () => pool.end(),
  };
}

/** How PostgreSQL runs this SQL text: as its named statement when a prepared query registered it (prepared.ts). */
function queryConfig(text: string, parameters: readonly unknown[], namedStatements: boolean): pg.QueryConfig {
  // One object shape whether named or not, and the values passed as they are (pg only reads them): this runs for
  // every query, and a spread plus a copy showed in the profile of Get onboarding.
  return { name: namedStatements ? statementName(text) : undefined, text, values: parameters as unknown[] };
}

/** Applies every pending migration. Safe when several instances start at once (the migrator takes a lock). */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const { error, results } = await new Migrator({ db, provider: migrations }).migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):([^@/]+)@/, '//$1:***@');
}

/** True when the error is a unique-constraint violation on either dialect. */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
