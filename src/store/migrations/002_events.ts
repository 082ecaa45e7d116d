import type { Kysely } from 'kysely';

/**
 * Webhook subscriptions and their delivery log, and indexed copies of the audit fields the audit API filters on.
 * Same type rules as 001: text ids and JSON, epoch milliseconds in bigint, no booleans. Subscription secrets are
 * needed to sign, so they are sealed (not hashed) with the server key.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('webhook_subscriptions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('event_names', 'text')
    .addColumn('secret_sealed', 'text', (c) => c.notNull())
    .addColumn('previous_secret_sealed', 'text')
    .addColumn('previous_secret_expires_at', 'bigint')
    .addColumn('disabled_at', 'bigint')
    .addColumn('disabled_reason', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webhook_subscriptions_account').on('webhook_subscriptions').columns(['account_id', 'created_at']).execute();

  // One row per (event, subscription); the lease columns let several workers share the table safely.
  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull().references('outbox_events.id').onDelete('cascade'))
    .addColumn('event_name', 'text', (c) => c.notNull())
    .addColumn('subscription_id', 'text', (c) => c.notNull().references('webhook_subscriptions.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempt_count', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('deadline_at', 'bigint', (c) => c.notNull())
    .addColumn('locked_until', 'bigint')
    .addColumn('lease_id', 'text')
    .addColumn('last_status_code', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('webhook_deliveries_event_subscription', ['event_id', 'subscription_id'])
    .execute();
  await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['status', 'next_attempt_at']).execute();
  await db.schema.createIndex('webhook_deliveries_subscription').on('webhook_deliveries').columns(['subscription_id', 'created_at']).execute();

  await db.schema
    .createTable('webhook_delivery_attempts')
    .addColumn('delivery_id', 'text', (c) => c.notNull().references('webhook_deliveries.id').onDelete('cascade'))
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('status_code', 'integer')
    .addColumn('error', 'text')
    .addPrimaryKeyConstraint('webhook_delivery_attempts_pk', ['delivery_id', 'attempt'])
    .execute();

  await addAuditQueryColumns(db);
}

/** Columns (one ALTER each: SQLite adds one column per statement) copied from the hashed body, so queries use indexes. */
const AUDIT_QUERY_COLUMNS = { client_id: 'clientId', user_id: 'userId', reference_id: 'referenceId', trace_id: 'traceId' } as const;

async function addAuditQueryColumns(db: Kysely<any>): Promise<void> {
  for (const column of Object.keys(AUDIT_QUERY_COLUMNS)) await db.schema.alterTable('audit_items').addColumn(column, 'text').execute();
  for (const column of ['event_type', 'user_id', 'reference_id']) {
    await db.schema.createIndex(`audit_items_account_${column}`).on('audit_items').columns(['account_id', column, 'sequence']).execute();
  }
  await backfillAuditQueryColumns(db);
}

/** Items written before this migration get their columns from their (unchanged) bodies, in batches. */
async function backfillAuditQueryColumns(db: Kysely<any>): Promise<void> {
  let after = '';
  for (;;) {
    const rows: { cursor: string; body: string }[] = await db
      .selectFrom('audit_items')
      .select(['cursor', 'body'])
      .where('cursor', '>', after)
      .orderBy('cursor')
      .limit(500)
      .execute();
    for (const row of rows) {
      const body = JSON.parse(row.body) as Record<string, string | null | undefined>;
      const values = Object.fromEntries(Object.entries(AUDIT_QUERY_COLUMNS).map(([column, field]) => [column, body[field] ?? null]));
      await db.updateTable('audit_items').set(values).where('cursor', '=', row.cursor).execute();
    }
    const last = rows.at(-1);
    if (!last) return;
    after = last.cursor;
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const column of ['event_type', 'user_id', 'reference_id']) await db.schema.dropIndex(`audit_items_account_${column}`).ifExists().execute();
  for (const column of Object.keys(AUDIT_QUERY_COLUMNS)) await db.schema.alterTable('audit_items').dropColumn(column).execute();
  for (const table of ['webhook_delivery_attempts', 'webhook_deliveries', 'webhook_subscriptions']) await db.schema.dropTable(table).ifExists().execute();
}
