import type { FaceTemplate } from '../faces/types.js';
import type { Executor } from '../store/database.js';
import type { Provenance, User, UserStore } from './users.js';

/**
 * The reference face of each user: the template onboarding established, which every later proofing's face is compared
 * with. A template is biometric data, so it is sealed with the user's own data key (erasing the key erases it) and
 * bound to the user and model in the sealing context. One reference per user and model; a newer one replaces it.
 */
export interface ReferenceFace {
  template: FaceTemplate;
  provenance: Provenance;
}

export class ReferenceFaces {
  constructor(private readonly deps: { users: Pick<UserStore, 'cipher'> }) {}

  async save(executor: Executor, user: User, template: FaceTemplate, provenance: Provenance): Promise<void> {
    const key = { user_id: user.id, model: template.model };
    const sealed = {
      template_sealed: this.deps.users.cipher(user).sealJson(template, sealingContext(user.id, template.model)),
      provider: provenance.provider,
      transaction_id: provenance.transactionId,
      proofing_id: provenance.proofingId,
      created_at: provenance.verifiedAt,
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
    return {
      template: this.deps.users.cipher(user).openJson<FaceTemplate>(row.template_sealed, sealingContext(user.id, row.model)),
      provenance: { provider: row.provider, transactionId: row.transaction_id, proofingId: row.proofing_id, verifiedAt: Number(row.created_at) },
    };
  }
}

const sealingContext = (userId: string, model: string) => `user:${userId}:referenceFace:${model}`;
