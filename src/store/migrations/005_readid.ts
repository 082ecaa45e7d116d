import type { Kysely } from 'kysely';

/**
 * ReadID: Active Authentication challenges (single-use, short-lived, bound to one transaction), the verification
 * attempts of a transaction (at most three inconclusive ones), and the documents bound to users. Documents are
 * identified only by a keyed hash, so the table reveals no document number. Same type rules as 001_core.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('readid_challenges')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('transaction_id', 'text', (c) => c.notNull().references('transactions.id').onDelete('cascade'))
    .addColumn('challenge', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .addUniqueConstraint('readid_challenges_value', ['transaction_id', 'challenge'])
    .execute();

  await db.schema
    .createTable('readid_attempts')
    .addColumn('transaction_id', 'text', (c) => c.notNull().references('transactions.id').onDelete('cascade'))
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('verdict', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('challenge_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('readid_attempts_pk', ['transaction_id', 'attempt'])
    .execute();

  await db.schema
    .createTable('readid_documents')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('document_hash', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('transaction_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    // One owner per document and account: the key that makes binding race-free (see documents.ts).
    .addPrimaryKeyConstraint('readid_documents_pk', ['account_id', 'document_hash'])
    .execute();
  await db.schema.createIndex('readid_documents_user').on('readid_documents').column('user_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('readid_documents').ifExists().execute();
  await db.schema.dropTable('readid_attempts').ifExists().execute();
  await db.schema.dropTable('readid_challenges').ifExists().execute();
}
