import type { Kysely } from 'kysely';

/**
 * The user an outbox event is about, when its data carries that user's personal data (transaction events carry
 * `userData`): erasing the user redacts those events, which are sealed with the server key and would otherwise stay
 * readable until outbox retention ends. Null for events about no user's personal data, and for events written before.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('outbox_events').addColumn('user_id', 'text').execute();
  await db.schema.createIndex('outbox_events_user').on('outbox_events').column('user_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('outbox_events_user').execute();
  await db.schema.alterTable('outbox_events').dropColumn('user_id').execute();
}
