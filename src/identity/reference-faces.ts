import type { FaceTemplate } from '../faces/types.js';
import type { Executor } from '../store/database.js';
import type { Provenance, User, UserStore } from './users.js';

/**
 * The reference face of each user: the template onboarding established, which every later proofing's face is compared
 * with. A template is biometric data, so it is sealed with the user's own data key (erasing the key erases it) and
 * bound to the user and model in the sealing context. One reference per user and model; a newer one replaces it.
 *
 * It may keep the photo it was computed from (a selfie an agent approved, a chip photo), sealed the same way: the
 * agent reviewing a later step-up compares the person with it by eye. A template never leaves the server; the photo is
 * shown only in the console.
 */
export interface ReferencePhoto {
  mediaType: string;
  content: Buffer;
}

export interface ReferenceFace {
  template: FaceTemplate;
  provenance: Provenance;
  /** Null when the reference was saved without its photo. */
  photo: ReferencePhoto | null;
}

export class ReferenceFaces {
  constructor(private readonly deps: { users: Pick<UserStore, 'cipher'> }) {}

  async save(executor: Executor, user: User, template: FaceTemplate, provenance: Provenance, photo?: ReferencePhoto): Promise<void> {
    const key = { user_id: user.id, model: template.model };
    const cipher = this.deps.users.cipher(user);
    const sealed = {
      template_sealed: cipher.sealJson(template, sealingContext(user.id, template.model)),
      provider: provenance.provider,
      transaction_id: provenance.transactionId,
      proofing_id: provenance.proofingId,
      created_at: provenance.verifiedAt,
      // A replaced reference without a photo must not keep the previous one's: the photo belongs to its template.
      photo_sealed: photo ? cipher.seal(photo.content, photoContext(user.id, template.model)) : null,
      photo_media_type: photo?.mediaType ?? null,
    };
    await executor
      .insertInto('user_reference_faces')
      .values({ ...key, ...sealed })
      .onConflict((oc) => oc.columns(['user_id', 'model']).doUpdateSet(sealed))
      .execute();
  }

  /** The user's reference for this model, or (without a model) the most recent one; null when there is none. */
  async find(executor: Executor, user: User, model?: string): Promise<ReferenceFace | null> {
    let query = executor.selectFrom('user_reference_faces').selectAll().where('user_id', '=', user.id);
    if (model !== undefined) query = query.where('model', '=', model);
    const row = await query.orderBy('created_at', 'desc').limit(1).executeTakeFirst();
    if (!row) return null;
    const cipher = this.deps.users.cipher(user);
    return {
      template: cipher.openJson<FaceTemplate>(row.template_sealed, sealingContext(user.id, row.model)),
      provenance: { provider: row.provider, transactionId: row.transaction_id, proofingId: row.proofing_id, verifiedAt: Number(row.created_at) },
      photo:
        row.photo_sealed && row.photo_media_type
          ? { mediaType: row.photo_media_type, content: cipher.open(row.photo_sealed, photoContext(user.id, row.model)) }
          : null,
    };
  }
}

const sealingContext = (userId: string, model: string) => `user:${userId}:referenceFace:${model}`;
const photoContext = (userId: string, model: string) => `user:${userId}:referenceFace:${model}:photo`;
