import type { Compilable, CompiledQuery } from 'kysely';
import type { Executor } from './types.js';

/**
 * A query built and compiled once per database handle, then run with new parameter values, for the hottest reads:
 * building and compiling a Kysely query costs about a tenth of a Get onboarding's CPU time (profiled; README
 * "Capacity"). `build` must bind exactly the given arguments as parameters, in order, and nothing else: checked when
 * it is compiled. Transactions are new handles each time, so inside one it simply compiles again.
 */
export function preparedQuery<Row, Args extends unknown[]>(build: (executor: Executor, ...args: Args) => Compilable<Row>) {
  const compiled = new WeakMap<Executor, CompiledQuery<Row>>();
  return async (executor: Executor, ...args: Args): Promise<Row[]> => {
    let query = compiled.get(executor);
    if (!query) {
      query = build(executor, ...args).compile();
      if (query.parameters.length !== args.length || query.parameters.some((value, i) => value !== args[i])) {
        throw new Error(`A prepared query must bind exactly its arguments, in order: ${query.sql}`);
      }
      compiled.set(executor, query);
      return (await executor.executeQuery(query)).rows;
    }
    return (await executor.executeQuery<Row>({ ...query, parameters: args })).rows;
  };
}
