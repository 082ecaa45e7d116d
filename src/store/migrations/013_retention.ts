import type { Kysely } from 'kysely';

/**
 * Retention (README "Retention"). `account_retention` holds an account's own retention periods, in days; a null column
 * (or no row) means the configured default. Owned by retention/policy.ts.
 *
 * The indexes serve the retention job and the deletions it makes: ended transactions by account and end time, and
 * the rows that belong to a transaction (its proofings, their evidence, its device operations and review cases, which
 * a deleted transaction takes with it), which had no index on their transaction or proofing column; without them each
 * deletion would scan those tables. Delivery logs are found by account and end time (updated_at once ended).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('account_retention')
    .addColumn('account_id', 'text', (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
    .addColumn('evidence_days', 'integer')
    .addColumn('transactions_days', 'integer')
    .addColumn('deliveries_days', 'integer')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('transactions_account_ended').on('transactions').columns(['account_id', 'ended_at']).execute();
  await db.schema.createIndex('proofings_transaction').on('proofings').column('transaction_id').execute();
  await db.schema.createIndex('evidence_proofing').on('evidence').column('proofing_id').execute();
  await db.schema.createIndex('device_operations_transaction').on('device_operations').column('transaction_id').execute();
  await db.schema.createIndex('videoid_cases_transaction').on('videoid_cases').column('transaction_id').execute();
  await db.schema.createIndex('webhook_deliveries_account_updated').on('webhook_deliveries').columns(['account_id', 'updated_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const index of [
    'webhook_deliveries_account_updated',
    'videoid_cases_transaction',
    'device_operations_transaction',
    'evidence_proofing',
    'proofings_transaction',
    'transactions_account_ended',
  ])
    await db.schema.dropIndex(index).execute();
  await db.schema.dropTable('account_retention').ifExists().execute();
}
