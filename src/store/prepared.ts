import { createHash } from 'node:crypto';
import type { Compilable, CompiledQuery } from 'kysely';
import type { Db, Executor } from './types.js';

/** SQL text → statement name, of every prepared query compiled in this process (PostgreSQL names them, see below). */
const statementNames = new Map<string, string>();
/**
 * Each named statement takes memory in every PostgreSQL connection that ran it, for the connection's life. The texts
 * are fixed by the code (a few dozen), so a text past this bound means a caller whose text varies: it runs unnamed.
 */
const MAX_NAMED_STATEMENTS = 256;

/**
 * The name PostgreSQL runs this SQL text under, when a prepared query compiled it; else undefined (an unnamed
 * statement, parsed and planned on every execution). A named statement is parsed and planned once per connection:
 * about a fifth of a Get onboarding's throughput on PostgreSQL (README "Capacity"). The name is derived from the text,
 * so instances running different versions side by side never give one name two meanings.
 */
export function statementName(sql: string): string | undefined {
  return statementNames.get(sql);
}

/**
 * Runs a compiled query straight on the driver, without Kysely's connection handling (a mutex or pool checkout, and a
 * chain of promises: about a tenth of a Get onboarding's CPU time, profiled against the bare driver). Returns
 * undefined when it cannot run it now (SQLite, while a transaction holds the connection): the caller goes through
 * Kysely then, which waits for it.
 */
export type DirectRunner = (sql: string, parameters: readonly unknown[]) => unknown[] | Promise<unknown[]> | undefined;

/** The direct runner of each root database handle; transactions have none (their queries run on their connection). */
const directRunners = new WeakMap<Executor, DirectRunner>();

/** Lets prepared queries on this handle, outside transactions, run on the driver (store/database.ts registers it). */
export function runPreparedQueriesDirectly(db: Db, runner: DirectRunner): void {
  directRunners.set(db, runner);
}

/**
 * A query built and compiled once per database handle, then run with new parameter values, for the hottest reads:
 * building and compiling a Kysely query costs about a tenth of a Get onboarding's CPU time (profiled; README
 * "Capacity"). `build` must bind exactly the given arguments as parameters, in order, and nothing else, and must name
 * its columns: a prepared `select *` would fail on every connection that prepared it ("cached plan must not change
 * result type") once a migration adds a column, which is what a rolling upgrade does to the instances still running
 * the old version. Both are checked when it is compiled. Transactions are new handles each time, so inside one it
 * simply compiles again.
 */
export function preparedQuery<Row, Args extends unknown[]>(build: (executor: Executor, ...args: Args) => Compilable<Row>) {
  const compiled = new WeakMap<Executor, CompiledQuery<Row>>();
  return async (executor: Executor, ...args: Args): Promise<Row[]> => {
    let query = compiled.get(executor);
    if (!query) {
      query = build(executor, ...args).compile();
      checkBindings(query, args);
      nameStatement(query);
      compiled.set(executor, query);
      return (await executor.executeQuery(query)).rows;
    }
    const direct = directRunners.get(executor)?.(query.sql, args);
    if (direct) return (await direct) as Row[];
    return (await executor.executeQuery<Row>({ ...query, parameters: args })).rows;
  };
}

/**
 * A write on a hot path whose SQL text is the same on every call (a single-row insert of a fixed set of columns; only
 * the values change), compiled and registered so that PostgreSQL runs it as a named statement. Run it with
 * `executor.executeQuery`.
 */
export function namedStatement<Row>(query: Compilable<Row>): CompiledQuery<Row> {
  const compiled = query.compile();
  nameStatement(compiled);
  return compiled;
}

/** Registers the text once; a hot path's later calls cost one map lookup. */
function nameStatement(query: CompiledQuery): void {
  if (statementNames.has(query.sql)) return;
  if (/\b(select|returning)\s+(\S+\.)?\*/i.test(query.sql)) throw new Error(`A prepared query must name its columns: ${query.sql}`);
  if (statementNames.size >= MAX_NAMED_STATEMENTS) return;
  statementNames.set(query.sql, `reuseid_${createHash('sha256').update(query.sql).digest('hex').slice(0, 24)}`);
}

function checkBindings(query: CompiledQuery, args: unknown[]): void {
  if (query.parameters.length !== args.length || query.parameters.some((value, i) => value !== args[i])) {
    throw new Error(`A prepared query must bind exactly its arguments, in order: ${query.sql}`);
  }
}
