import { type Kysely, sql } from 'kysely';

/**
 * The user lifecycle: lookup by `externalRef` and erasure.
 *
 * - `external_ref_hash`: a keyed hash (HMAC under a key derived from the master key) of the user's `externalRef`,
 *   which is sealed with the user's own key and so cannot be searched. Indexed per account for `GET /users?externalRef`.
 *   A migration cannot compute it: it runs without the master key. Rows written before this migration are hashed at
 *   start, right after migrating (UserStore.hashExternalRefs), as 008 does for webhook URLs; a partial index holds
 *   the rows still to hash, so that the check costs nothing once they are done.
 * - `erased_at`: when the user was erased (state ERASED, data key destroyed); null for a live user.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('external_ref_hash', 'text').execute();
  await db.schema.alterTable('users').addColumn('erased_at', 'bigint').execute();
  await db.schema.createIndex('users_external_ref_hash').on('users').columns(['account_id', 'external_ref_hash']).execute();
  // The rows still to hash, and only those: once they are done the start-up check reads an empty index, not the table.
  await db.schema
    .createIndex('users_external_ref_unhashed')
    .on('users')
    .column('id')
    .where(sql.ref('external_ref_hash'), 'is', null)
    .where(sql.ref('external_ref_sealed'), 'is not', null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('users_external_ref_unhashed').ifExists().execute();
  await db.schema.dropIndex('users_external_ref_hash').ifExists().execute();
  await db.schema.alterTable('users').dropColumn('erased_at').execute();
  await db.schema.alterTable('users').dropColumn('external_ref_hash').execute();
}
