import type { Kysely } from 'kysely';

/**
 * VideoID review and the agent console: one review case per capture, agent accounts and their sessions. Same type
 * rules as 001_core (text ids, bigint epoch ms). Personal data in a case (the MRZ pre-fill) is sealed with the
 * user's data key; the images themselves are dossier evidence, referenced by id. Agent passwords are scrypt hashes
 * and session ids are stored only as SHA-256 digests, so a database dump yields no usable credential.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('videoid_cases')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('transaction_id', 'text', (c) => c.notNull().references('transactions.id').onDelete('cascade'))
    .addColumn('proofing_id', 'text', (c) => c.notNull().references('proofings.id').onDelete('cascade'))
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('doc_type', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('prefill_sealed', 'text')
    .addColumn('evidence_ids', 'text', (c) => c.notNull())
    .addColumn('claimed_by', 'text')
    .addColumn('claim_expires_at', 'bigint')
    .addColumn('decided_by', 'text')
    .addColumn('decision_reason', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('decided_at', 'bigint')
    // One case per capture: a retried upload of the same attempt cannot open a second case.
    .addUniqueConstraint('videoid_cases_attempt', ['transaction_id', 'attempt'])
    .execute();
  await db.schema.createIndex('videoid_cases_queue').on('videoid_cases').columns(['status', 'created_at']).execute();

  await db.schema
    .createTable('console_agents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull().unique())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('disabled_at', 'bigint')
    .execute();

  await db.schema
    .createTable('console_sessions')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('agent_id', 'text', (c) => c.notNull().references('console_agents.id').onDelete('cascade'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('console_sessions_agent').on('console_sessions').column('agent_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('console_sessions').execute();
  await db.schema.dropTable('console_agents').execute();
  await db.schema.dropTable('videoid_cases').execute();
}
