import type { Kysely } from 'kysely';

/**
 * Large evidence (a capture's video) is stored as a sequence of sealed chunks rather than one sealed value, so that
 * neither the upload nor a reader ever holds it whole. Chunks are staged while the upload streams in (`upload_id`,
 * no `evidence_id` yet) and adopted by their evidence row in the business transaction; staged chunks of a request
 * that failed are deleted by the request, and those a crash left behind by the sweeper. `evidence.chunk_count` and
 * `evidence.content_size` are set only for a chunked item (its `content_sealed` is then empty).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('evidence_chunks')
    .addColumn('upload_id', 'text', (c) => c.notNull())
    .addColumn('idx', 'integer', (c) => c.notNull())
    .addColumn('evidence_id', 'text', (c) => c.references('evidence.id').onDelete('cascade'))
    .addColumn('content_sealed', 'text', (c) => c.notNull())
    .addColumn('staged_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('evidence_chunks_pk', ['upload_id', 'idx'])
    .execute();
  await db.schema.createIndex('evidence_chunks_evidence').on('evidence_chunks').column('evidence_id').execute();
  await db.schema.createIndex('evidence_chunks_staged').on('evidence_chunks').column('staged_at').execute();
  await db.schema.alterTable('evidence').addColumn('chunk_count', 'integer').execute();
  await db.schema.alterTable('evidence').addColumn('content_size', 'bigint').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('evidence').dropColumn('content_size').execute();
  await db.schema.alterTable('evidence').dropColumn('chunk_count').execute();
  await db.schema.dropTable('evidence_chunks').execute();
}
