import type { Executor } from '../store/database.js';
import type { DataCipher, Keyring } from '../security/keyring.js';
import type { Clock, RandomSource } from '../shared/runtime.js';
import { isoTime } from '../shared/runtime.js';

/**
 * The identity store: users and their verified attributes. Every attribute value is sealed with the user's own
 * data key and carries its provenance (which transaction and proofing, which provider, when).
 */
export interface User {
  id: string;
  accountId: string;
  state: 'ACTIVE';
  createdAt: number;
  dataKeySealed: string;
}

export interface Provenance {
  provider: string;
  transactionId: string;
  proofingId: string;
  verifiedAt: number;
}

export interface VerifiedAttribute extends Omit<Provenance, 'verifiedAt'> {
  value: string;
  verifiedAt: string;
}

export class UserStore {
  constructor(private readonly deps: { clock: Clock; random: RandomSource; keyring: Keyring }) {}

  async create(executor: Executor, accountId: string, externalRef: unknown): Promise<User> {
    const now = this.deps.clock.now();
    const id = this.deps.random.uuid();
    const dataKeySealed = this.deps.keyring.newDataKey(id);
    const user: User = { id, accountId, state: 'ACTIVE', createdAt: now, dataKeySealed };
    const externalRefSealed = externalRef === undefined ? null : this.cipher(user).sealJson(externalRef, `user:${id}:externalRef`);
    await executor
      .insertInto('users')
      .values({
        id,
        account_id: accountId,
        state: user.state,
        data_key_sealed: dataKeySealed,
        external_ref_sealed: externalRefSealed,
        created_at: now,
        updated_at: now,
      })
      .execute();
    return user;
  }

  /** The user of this account, or null: another account's user is indistinguishable from a missing one. */
  async find(executor: Executor, accountId: string, userId: string): Promise<User | null> {
    const row = await executor
      .selectFrom('users')
      .select(['id', 'account_id', 'state', 'created_at', 'data_key_sealed'])
      .where('id', '=', userId)
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    return row ? { id: row.id, accountId: row.account_id, state: 'ACTIVE', createdAt: row.created_at, dataKeySealed: row.data_key_sealed } : null;
  }

  cipher(user: Pick<User, 'id' | 'dataKeySealed'>): DataCipher {
    return this.deps.keyring.userCipher(user.id, user.dataKeySealed);
  }

  /** Writes (or refreshes) verified attributes; a later proofing replaces an earlier value and its provenance. */
  async writeVerifiedAttributes(executor: Executor, user: User, attributes: Record<string, string>, provenance: Provenance): Promise<void> {
    const cipher = this.cipher(user);
    for (const [name, value] of Object.entries(attributes)) {
      const row = {
        user_id: user.id,
        name,
        value_sealed: cipher.seal(value, `user:${user.id}:attribute:${name}`),
        provider: provenance.provider,
        transaction_id: provenance.transactionId,
        proofing_id: provenance.proofingId,
        verified_at: provenance.verifiedAt,
      };
      await executor
        .insertInto('user_attributes')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['user_id', 'name']).doUpdateSet({
            value_sealed: row.value_sealed,
            provider: row.provider,
            transaction_id: row.transaction_id,
            proofing_id: row.proofing_id,
            verified_at: row.verified_at,
          }),
        )
        .execute();
    }
    await executor.updateTable('users').set({ updated_at: provenance.verifiedAt }).where('id', '=', user.id).execute();
  }

  /** The names of the user's verified attributes, without opening any value. */
  async attributeNames(executor: Executor, user: Pick<User, 'id'>): Promise<string[]> {
    const rows = await executor.selectFrom('user_attributes').select('name').where('user_id', '=', user.id).execute();
    return rows.map((row) => row.name);
  }

  async readAttributes(executor: Executor, user: User): Promise<Record<string, VerifiedAttribute>> {
    const rows = await executor.selectFrom('user_attributes').selectAll().where('user_id', '=', user.id).orderBy('name').execute();
    const cipher = this.cipher(user);
    const attributes: Record<string, VerifiedAttribute> = {};
    for (const row of rows) {
      attributes[row.name] = {
        value: cipher.open(row.value_sealed, `user:${user.id}:attribute:${row.name}`).toString('utf8'),
        provider: row.provider,
        transactionId: row.transaction_id,
        proofingId: row.proofing_id,
        verifiedAt: isoTime(row.verified_at),
      };
    }
    return attributes;
  }
}
