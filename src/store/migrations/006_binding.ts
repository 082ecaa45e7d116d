import type { Kysely } from 'kysely';

/**
 * Identity binding and assurance levels. `user_reference_faces` holds the face template onboarding established, sealed
 * with the user's data key (biometric data), with the proofing it came from; later proofings are compared with it.
 * Transactions gain the minimum assurance level the RP asked for and, once completed, the level reached with the
 * verification summary it was derived from (no personal data: how the document was read, clone detection, the face
 * match score, agent review). Same type rules as 001_core.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('user_reference_faces')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('template_sealed', 'text', (c) => c.notNull())
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('transaction_id', 'text', (c) => c.notNull())
    .addColumn('proofing_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    // One reference per user and model: templates of different models are never compared.
    .addPrimaryKeyConstraint('user_reference_faces_pk', ['user_id', 'model'])
    .execute();

  await db.schema.alterTable('transactions').addColumn('minimum_assurance_level', 'text').execute();
  await db.schema.alterTable('transactions').addColumn('assurance_level', 'text').execute();
  await db.schema.alterTable('transactions').addColumn('verification', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('transactions').dropColumn('verification').execute();
  await db.schema.alterTable('transactions').dropColumn('assurance_level').execute();
  await db.schema.alterTable('transactions').dropColumn('minimum_assurance_level').execute();
  await db.schema.dropTable('user_reference_faces').ifExists().execute();
}
