import type { Executor, Insert, Store } from '../store/database.js';
import type { DataCipher, Keyring } from '../security/keyring.js';
import type { Clock, RandomSource } from '../shared/runtime.js';
import { isoTime } from '../shared/runtime.js';
import { namedStatement } from '../store/prepared.js';
import { rowInsert } from '../store/row-insert.js';

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

export interface UserSummaryRow {
  id: string;
  state: string;
  createdAt: number;
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

  /** A new live user, and the insert that stores it, for the caller's unit of work to run (Store.insertTogether). */
  newUser(executor: Executor, accountId: string, externalRef: unknown): { user: User; insert: Insert } {
    const now = this.deps.clock.now();
    const id = this.deps.random.uuid();
    const dataKeySealed = this.deps.keyring.newDataKey(id);
    const user: User = { id, accountId, state: 'ACTIVE', createdAt: now, dataKeySealed };
    const externalRefSealed = externalRef === undefined ? null : this.cipher(user).sealJson(externalRef, externalRefContext(id));
    const insert = rowInsert(executor, 'users', {
      id,
      account_id: accountId,
      state: user.state,
      data_key_sealed: dataKeySealed,
      external_ref_sealed: externalRefSealed,
      external_ref_hash: externalRef === undefined ? null : this.externalRefHash(externalRef),
      created_at: now,
      updated_at: now,
      erased_at: null,
    });
    return { user, insert };
  }

  async create(executor: Executor, accountId: string, externalRef: unknown): Promise<User> {
    const { user, insert } = this.newUser(executor, accountId, externalRef);
    await executor.executeQuery(namedStatement(insert));
    return user;
  }

  /**
   * The live user of this account, or null: another account's user is indistinguishable from a missing one, and an
   * erased user no longer exists for anything that would open or add personal data. With `lock`, the row stays locked
   * until the caller's transaction ends, so that an erasure waits for it (or it for the erasure, and finds no one).
   */
  async find(executor: Executor, accountId: string, userId: string, lock?: Store['lockForUpdate']): Promise<User | null> {
    const query = executor
      .selectFrom('users')
      .select(['id', 'account_id', 'created_at', 'data_key_sealed'])
      .where('id', '=', userId)
      .where('account_id', '=', accountId)
      .where('state', '=', 'ACTIVE');
    const row = await (lock ? lock(query) : query).executeTakeFirst();
    return row ? { id: row.id, accountId: row.account_id, state: 'ACTIVE', createdAt: row.created_at, dataKeySealed: row.data_key_sealed } : null;
  }

  /** Live users of the account with this externalRef hash and an ID after `after`, by ID: one page of a find. */
  async findByExternalRefHash(executor: Executor, accountId: string, page: { hash: string; after: string; limit: number }): Promise<UserSummaryRow[]> {
    let select = executor
      .selectFrom('users')
      .select(['id', 'state', 'created_at'])
      .where('account_id', '=', accountId)
      .where('external_ref_hash', '=', page.hash)
      .where('state', '=', 'ACTIVE');
    if (page.after) select = select.where('id', '>', page.after);
    const rows = await select.orderBy('id').limit(page.limit).execute();
    return rows.map((row) => ({ id: row.id, state: row.state, createdAt: row.created_at }));
  }

  /** The user's state in this account (ACTIVE or ERASED), or null when the account has no such user. */
  async stateOf(executor: Executor, accountId: string, userId: string): Promise<string | null> {
    const row = await executor.selectFrom('users').select('state').where('id', '=', userId).where('account_id', '=', accountId).executeTakeFirst();
    return row?.state ?? null;
  }

  /** The user's externalRef, opened; undefined when it was given none. */
  async readExternalRef(executor: Executor, user: User): Promise<unknown> {
    const row = await executor.selectFrom('users').select('external_ref_sealed').where('id', '=', user.id).executeTakeFirstOrThrow();
    return row.external_ref_sealed === null ? undefined : this.cipher(user).openJson<unknown>(row.external_ref_sealed, externalRefContext(user.id));
  }

  /**
   * The keyed hash that finds a user by externalRef. A string is hashed as is (what `?externalRef=` carries); any other
   * JSON value as its JSON text, so that an RP can look it up by sending that text.
   */
  externalRefHash(externalRef: unknown): string {
    return this.deps.keyring.keyedHash(EXTERNAL_REF_PURPOSE, typeof externalRef === 'string' ? externalRef : JSON.stringify(externalRef));
  }

  /**
   * The step of migration 010 that needs the master key: hashes the externalRef of users created before it. Run at
   * every start (a no-op once done); returns how many users it hashed.
   */
  async hashExternalRefs(executor: Executor): Promise<number> {
    let hashed = 0;
    // In batches, so that a large backfill never holds the whole table in memory; the partial index of migration 010
    // finds the rows still to hash, and an empty batch ends it.
    for (;;) {
      const rows = await executor
        .selectFrom('users')
        .select(['id', 'data_key_sealed', 'external_ref_sealed'])
        .where('external_ref_hash', 'is', null)
        .where('external_ref_sealed', 'is not', null)
        .limit(HASH_BATCH)
        .execute();
      for (const row of rows) {
        const externalRef = this.cipher({ id: row.id, dataKeySealed: row.data_key_sealed }).openJson<unknown>(
          row.external_ref_sealed!,
          externalRefContext(row.id),
        );
        await executor
          .updateTable('users')
          .set({ external_ref_hash: this.externalRefHash(externalRef) })
          .where('id', '=', row.id)
          .execute();
      }
      hashed += rows.length;
      if (rows.length < HASH_BATCH) return hashed;
    }
  }

  /**
   * Crypto-shredding: destroys the user's data key, so every value sealed with it (attributes, externalRef, face
   * templates and photos, evidence, proofing decisions, transaction userData) can never be opened again; a backup taken
   * before still holds the sealed key until it expires (README). The attribute and reference-face rows go too; they hold nothing usable without the key.
   * Returns false when the user was not live (already erased, or not this account's).
   */
  async erase(executor: Executor, accountId: string, userId: string, now: number): Promise<boolean> {
    const erased = await executor
      .updateTable('users')
      .set({ state: 'ERASED', data_key_sealed: '', external_ref_sealed: null, external_ref_hash: null, erased_at: now, updated_at: now })
      .where('id', '=', userId)
      .where('account_id', '=', accountId)
      .where('state', '=', 'ACTIVE')
      .executeTakeFirst();
    if (Number(erased.numUpdatedRows) !== 1) return false;
    await executor.deleteFrom('user_attributes').where('user_id', '=', userId).execute();
    await executor.deleteFrom('user_reference_faces').where('user_id', '=', userId).execute();
    // The keyed hash of a document number would still single the person out (and bind the document to them).
    await executor.deleteFrom('readid_documents').where('user_id', '=', userId).execute();
    return true;
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

/** Users hashed per query by the start-up backfill of migration 010. */
const HASH_BATCH = 500;
const EXTERNAL_REF_PURPOSE = 'user-external-ref';
const externalRefContext = (userId: string) => `user:${userId}:externalRef`;
