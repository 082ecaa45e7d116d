import type { Kysely } from 'kysely';

/**
 * Faces the agent console shows. A reference face may keep the photo it was computed from (sealed with the user's
 * data key, like the template), so that an agent reviewing a later step-up sees the enrolled face. A VideoID case keeps
 * the automated comparison of its faces: the full result sealed with the user's data key (it says how a person's face
 * scored), and the decisions alone in clear (match, mismatch, unusable: no personal data) so the queue can flag cases
 * without opening each user's key. Same type rules as 001_core; every column is nullable, rows written before it stay
 * valid (a reference without a photo, a case without a comparison).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('user_reference_faces').addColumn('photo_sealed', 'text').execute();
  await db.schema.alterTable('user_reference_faces').addColumn('photo_media_type', 'text').execute();
  await db.schema.alterTable('videoid_cases').addColumn('faces_sealed', 'text').execute();
  await db.schema.alterTable('videoid_cases').addColumn('face_decision', 'text').execute();
  await db.schema.alterTable('videoid_cases').addColumn('enrolled_face_decision', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('videoid_cases').dropColumn('enrolled_face_decision').execute();
  await db.schema.alterTable('videoid_cases').dropColumn('face_decision').execute();
  await db.schema.alterTable('videoid_cases').dropColumn('faces_sealed').execute();
  await db.schema.alterTable('user_reference_faces').dropColumn('photo_media_type').execute();
  await db.schema.alterTable('user_reference_faces').dropColumn('photo_sealed').execute();
}
