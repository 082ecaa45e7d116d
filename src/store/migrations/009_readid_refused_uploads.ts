import type { Kysely } from 'kysely';

/**
 * ReadID: how many uploads of a transaction were refused (unreadable files, a DG15 left out, a missing selfie). One
 * row per transaction, counted over its whole life, so that `REUSEID_READID_MAX_FAILED_UPLOADS` is an exact bound: a
 * shared window counter would reset at a window boundary and let a transaction reach twice the bound.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('readid_refused_uploads')
    .addColumn('transaction_id', 'text', (c) => c.primaryKey().references('transactions.id').onDelete('cascade'))
    .addColumn('count', 'integer', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('readid_refused_uploads').ifExists().execute();
}
