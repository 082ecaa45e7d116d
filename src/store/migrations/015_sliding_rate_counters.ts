import type { Kysely } from 'kysely';

/**
 * Rate counters become sliding windows kept as slots (src/security/rate-counters.ts): a row is now one slot of a key,
 * `window_start` its start, and `last_at` the time of its latest event, so the oldest slot of a window stops counting
 * once that event is a window old. Rows written before keep last_at 0: each counts until the end of the fixed window
 * it was written for, as it did, so no bound is reset by the upgrade.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('rate_counters')
    .addColumn('last_at', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('rate_counters').dropColumn('last_at').execute();
}
