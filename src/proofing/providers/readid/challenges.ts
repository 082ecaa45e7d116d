import { errors } from '../../../shared/errors.js';
import type { Transaction } from '../../../flows/transaction.js';
import type { Tx } from '../../../store/database.js';
import type { ProviderServices } from '../../provider.js';
import type { ReadIdChallengesTable } from './schema.js';

/**
 * Active Authentication challenges (Doc 9303-11 §6.1): the server picks the 8 bytes the chip signs, so a signature
 * copied from another session, or computed in advance by a clone, answers the wrong challenge. A challenge belongs
 * to one transaction, lives CHALLENGE_TTL_MS and is burned by the upload that names it.
 */
export const CHALLENGE_BYTES = 8;
const CHALLENGE_TTL_MS = 10 * 60 * 1000;
/** A live challenge with less time left than this is not handed out again: the user may still be reading the chip. */
const MIN_REMAINING_MS = 2 * 60 * 1000;

export interface Challenge {
  id: string;
  bytes: Buffer;
  expiresAt: number;
}

export class Challenges {
  constructor(private readonly ctx: Pick<ProviderServices, 'store' | 'clock' | 'random'>) {}

  /**
   * The challenge the app should answer: the transaction's live one if it has enough time left, else a new one.
   * Reusing it keeps repeated polls of the post-operation context from piling up rows.
   */
  async current(tx: Transaction): Promise<Challenge> {
    const now = this.ctx.clock.now();
    const live = await this.ctx.store.db
      .selectFrom('readid_challenges')
      .selectAll()
      .where('transaction_id', '=', tx.id)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now + MIN_REMAINING_MS)
      .orderBy('expires_at', 'desc')
      .executeTakeFirst();
    return live ? toChallenge(live) : this.issue(tx, now);
  }

  /** The unused, unexpired challenge of this transaction with this value; anything else is refused the same way. */
  async find(transactionId: string, challengeHex: string): Promise<Challenge> {
    const row = await this.ctx.store.db
      .selectFrom('readid_challenges')
      .selectAll()
      .where('transaction_id', '=', transactionId)
      .where('challenge', '=', challengeHex.toLowerCase())
      .executeTakeFirst();
    if (!row || row.used_at !== null || row.expires_at <= this.ctx.clock.now()) throw challengeRefused();
    return toChallenge(row);
  }

  /** Marks the challenge used; the conditional update lets only one of two concurrent uploads through. */
  async burn(trx: Tx, challenge: Challenge): Promise<void> {
    const now = this.ctx.clock.now();
    const burned = await trx
      .updateTable('readid_challenges')
      .set({ used_at: now })
      .where('id', '=', challenge.id)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    if (Number(burned.numUpdatedRows) !== 1) throw challengeRefused();
  }

  private async issue(tx: Transaction, now: number): Promise<Challenge> {
    const challenge = { id: this.ctx.random.uuid(), bytes: this.ctx.random.bytes(CHALLENGE_BYTES), expiresAt: now + CHALLENGE_TTL_MS };
    await this.ctx.store.db
      .insertInto('readid_challenges')
      .values({
        id: challenge.id,
        transaction_id: tx.id,
        challenge: challenge.bytes.toString('hex'),
        created_at: now,
        expires_at: challenge.expiresAt,
        used_at: null,
      })
      .execute();
    return challenge;
  }
}

function toChallenge(row: ReadIdChallengesTable): Challenge {
  return { id: row.id, bytes: Buffer.from(row.challenge, 'hex'), expiresAt: row.expires_at };
}

const challengeRefused = () =>
  errors.invalidParameters(
    [{ name: 'activeAuthentication.challenge', reason: 'not a live challenge of this transaction: unknown, expired or already used' }],
    'Answer the challenge in the current post-operation context.',
  );
