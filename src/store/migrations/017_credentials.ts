import type { Kysely } from 'kysely';

/**
 * Credential issuance (README "The verified identity in a wallet", OpenID4VCI 1.0 with SD-JWT VC).
 *
 * - `signing_keys.purpose` separates the keys that sign RP access tokens from the credential issuer's keys: each is
 *   rotated and published on its own schedule, and one can never verify what the other signed.
 * - `credential_offers` (owner credentials/offers.ts): one pre-authorized code per offer, stored as a keyed hash, with
 *   the transaction code's hash and its failure count; redeeming it sets the hash of the wallet's access token, which
 *   may obtain one credential before it expires.
 * - `credential_status_lists` (owner credentials/status-lists.ts): IETF Token Status Lists, shared by every account so
 *   that a list is large and an index says nothing about who holds it.
 * - `credentials` (owner credentials/registry.ts): what was issued, to whom, where its status bit is, whether it was
 *   revoked. No claim values: those live only in the credential the wallet holds.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('signing_keys')
    .addColumn('purpose', 'text', (c) => c.notNull().defaultTo('access-token'))
    .execute();
  await db.schema.createIndex('signing_keys_purpose_created').on('signing_keys').columns(['purpose', 'created_at']).execute();

  await db.schema
    .createTable('credential_offers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('code_hash', 'text', (c) => c.notNull().unique())
    .addColumn('tx_code_hash', 'text', (c) => c.notNull())
    .addColumn('tx_code_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('redeemed_at', 'bigint')
    .addColumn('access_token_hash', 'text', (c) => c.unique())
    .addColumn('access_expires_at', 'bigint')
    .addColumn('credential_issued_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('credential_offers_user').on('credential_offers').column('user_id').execute();

  await db.schema
    .createTable('credential_status_lists')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('credentials')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('offer_id', 'text', (c) => c.notNull())
    .addColumn('configuration_id', 'text', (c) => c.notNull())
    .addColumn('status_list_id', 'text', (c) => c.notNull().references('credential_status_lists.id'))
    .addColumn('status_index', 'integer', (c) => c.notNull())
    .addColumn('holder_key_thumbprint', 'text', (c) => c.notNull())
    .addColumn('issued_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .addColumn('revocation_reason', 'text')
    .addUniqueConstraint('credentials_status_slot', ['status_list_id', 'status_index'])
    .execute();
  await db.schema.createIndex('credentials_user').on('credentials').column('user_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('credentials').ifExists().execute();
  await db.schema.dropTable('credential_status_lists').ifExists().execute();
  await db.schema.dropTable('credential_offers').ifExists().execute();
  await db.schema.dropIndex('signing_keys_purpose_created').execute();
  await db.schema.alterTable('signing_keys').dropColumn('purpose').execute();
}
