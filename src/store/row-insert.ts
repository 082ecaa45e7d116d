import { createQueryId, isOperationNodeSource, RawNode, type CompiledQuery, type DialectAdapter, type Insertable, type InsertResult } from 'kysely';
import type { Database } from './schema.js';
import type { Executor, Insert } from './types.js';

/**
 * Single-row inserts on the hot write paths (Start onboarding writes four), compiled by Kysely once per dialect and
 * set of columns, then run with each row's values. Building and compiling the Kysely insert on every call took about a
 * tenth of a Start onboarding's CPU, which the driver-level floor does not pay (issue 11's profile). The SQL text of
 * such an insert depends only on the table and the columns given a value, so that is the template's key.
 */
type Template = { sql: string; query: RawNode };

/**
 * The text as a raw node, as CompiledQuery.raw makes it: the compiled tree would keep the first row's values (sealed
 * personal data, a code's hash) for the life of the process. The drivers run the text; no plugin reads the node.
 */
function templateOf(compiled: CompiledQuery): Template {
  return { sql: compiled.sql, query: RawNode.createWithSql(compiled.sql) };
}

/**
 * One map per dialect (a database handle and its transactions share their adapter). The keys are fixed by the code, a
 * few per table; a key past this bound means a caller whose columns vary without end, and it is compiled every time.
 */
const templates = new WeakMap<DialectAdapter, Map<string, Template | null>>();
const MAX_TEMPLATES = 256;

/** An insert of one row into `table`; run it with `executor.executeQuery`, or with others in Store.insertTogether. */
export function rowInsert<T extends keyof Database & string>(executor: Executor, table: T, row: Insertable<Database[T]>): RowInsert {
  return new RowInsert(executor, table, row as Record<string, unknown>);
}

export class RowInsert implements Insert {
  /** The table and the columns given a value, in the row's order: what the SQL text depends on. */
  readonly shape: string;
  /** The row's values in that order: the statement's parameters. */
  readonly values: unknown[] = [];
  /** False when a value is an SQL expression, which Kysely writes into the text rather than binding it. */
  private readonly plain: boolean = true;

  constructor(
    private readonly executor: Executor,
    private readonly table: string,
    private readonly row: Record<string, unknown>,
  ) {
    let columns = '';
    for (const column in row) {
      const value = row[column];
      // Kysely leaves a column out when its value is undefined: so does the template.
      if (value === undefined) continue;
      if (typeof value === 'function' || isOperationNodeSource(value)) this.plain = false;
      columns += `\u0000${column}`;
      this.values.push(value);
    }
    this.shape = `${table}${columns}`;
  }

  compile(): CompiledQuery<InsertResult> {
    const template = this.plain ? this.template() : null;
    if (!template) return this.builder().compile();
    return { sql: template.sql, query: template.query, queryId: createQueryId(), parameters: this.values };
  }

  toOperationNode() {
    return this.builder().toOperationNode();
  }

  /** Whether this insert's compiled text can serve every insert of its shape (see compile). */
  get templated(): boolean {
    return this.plain && this.template() !== null;
  }

  private builder() {
    return this.executor.insertInto(this.table as keyof Database).values(this.row as never);
  }

  /**
   * The shape's compiled text, compiled now if it is new. A template is kept only when compiling bound exactly the
   * row's values, in order, and no plugin rewrites queries: then only the values differ from one row to the next.
   */
  private template(): Template | null {
    const executor = this.executor.getExecutor();
    let known = templates.get(executor.adapter);
    if (!known) {
      known = new Map();
      templates.set(executor.adapter, known);
    }
    const cached = known.get(this.shape);
    if (cached !== undefined) return cached;
    const compiled = this.builder().compile();
    const template = executor.plugins.length === 0 && bindsExactly(compiled.parameters, this.values) ? templateOf(compiled) : null;
    if (known.size < MAX_TEMPLATES) known.set(this.shape, template);
    return template;
  }
}

/**
 * A statement made of several row inserts (PostgreSQL's one-statement Store.insertTogether), compiled by `combine` once
 * per sequence of shapes and then run with the rows' values, under the same conditions as a single row's template.
 */
export function combinedInserts<O>(combine: (inserts: readonly Insert[]) => { compile(): CompiledQuery<O> }) {
  const combined = new Map<string, Template | null>();
  return (inserts: readonly Insert[]): CompiledQuery<O> => {
    const rows = inserts.every((insert): insert is RowInsert => insert instanceof RowInsert && insert.templated) ? inserts : null;
    if (!rows) return combine(inserts).compile();
    const key = rows.map((row) => row.shape).join('\u0001');
    const parameters = rows.flatMap((row) => row.values);
    const template = combined.get(key);
    if (template === undefined) {
      // The first of its shapes: its own compilation is its answer, and the template for the next ones.
      const compiled = combine(inserts).compile();
      const checked = bindsExactly(compiled.parameters, parameters) ? templateOf(compiled) : null;
      if (combined.size < MAX_TEMPLATES) combined.set(key, checked);
      return compiled;
    }
    if (!template) return combine(inserts).compile();
    return { sql: template.sql, query: template.query, queryId: createQueryId(), parameters };
  };
}

function bindsExactly(bound: readonly unknown[], values: readonly unknown[]): boolean {
  return bound.length === values.length && bound.every((value, i) => value === values[i]);
}
