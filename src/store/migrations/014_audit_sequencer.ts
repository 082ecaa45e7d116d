import { type Kysely, SqliteAdapter } from 'kysely';

/**
 * Audit items waiting to be chained (see src/audit/log.ts and src/audit/sequencer.ts). A business transaction inserts
 * its items here, taking no lock; the sequencer moves them into `audit_items`, hash-chained, and deletes them here in
 * the same transaction. `id` is the insertion order the sequencer reads: an identity on PostgreSQL (monotonic across
 * sessions, though a lower id may commit after a higher one, which the sequencer allows for), the rowid on SQLite
 * (one writer at a time, so insertion and commit orders agree).
 */
export async function up(db: Kysely<any>): Promise<void> {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  await db.schema
    .createTable('audit_pending')
    .addColumn('id', sqlite ? 'integer' : 'bigint', (c) => (sqlite ? c.primaryKey() : c.primaryKey().generatedAlwaysAsIdentity()))
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('timestamp', 'bigint', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_pending').execute();
}
