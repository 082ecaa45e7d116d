import type { Keyring } from '../security/keyring.js';
import { safeEqual } from '../security/keyring.js';
import type { Clock, RandomSource } from '../shared/runtime.js';
import type { Executor, Tx } from '../store/database.js';
import { deleteExpiredRows } from './expiry.js';

/**
 * Credential offers with the pre-authorized code grant (OpenID4VCI 1.0 §4.1.1, §6.1). Owner of `credential_offers`.
 *
 * The RP receives the offer (with its pre-authorized code) and a 6-digit transaction code, and shows both to the user
 * through different channels. Codes, transaction codes and access tokens are stored as keyed hashes only. A code is
 * single-use and short-lived; each transaction code attempt counts against the offer, which is spent after
 * MAX_TX_CODE_ATTEMPTS, so guessing it has at most 5 chances in a million. The access token a code yields obtains one
 * credential and expires after ACCESS_TOKEN_SECONDS.
 */
const CODE_PURPOSE = 'credential-offer-code';
const TX_CODE_PURPOSE = 'credential-offer-tx-code';
const ACCESS_TOKEN_PURPOSE = 'credential-access-token';
export const TX_CODE_LENGTH = 6;
export const MAX_TX_CODE_ATTEMPTS = 5;
export const ACCESS_TOKEN_SECONDS = 300;
const MAX_CODE_LENGTH = 200;

export interface NewOffer {
  offerId: string;
  preAuthorizedCode: string;
  txCode: string;
  expiresAt: number;
}

export interface OfferGrant {
  offerId: string;
  accountId: string;
  userId: string;
}

export type Redemption =
  | { ok: true; accessToken: string; expiresIn: number; grant: OfferGrant }
  | { ok: false; error: 'invalid_grant' | 'invalid_request'; description: string; grant?: OfferGrant };

export class CredentialOffers {
  constructor(private readonly deps: { clock: Clock; random: RandomSource; keyring: Keyring; offerSeconds: number }) {}

  async create(trx: Tx, owner: { accountId: string; userId: string; clientId: string }): Promise<NewOffer> {
    const now = this.deps.clock.now();
    const offerId = this.deps.random.uuid();
    const preAuthorizedCode = this.deps.random.bytes(32).toString('base64url');
    const txCode = this.deps.random.digits(TX_CODE_LENGTH);
    const expiresAt = now + this.deps.offerSeconds * 1000;
    await trx
      .insertInto('credential_offers')
      .values({
        id: offerId,
        account_id: owner.accountId,
        user_id: owner.userId,
        client_id: owner.clientId,
        code_hash: this.hash(CODE_PURPOSE, preAuthorizedCode),
        tx_code_hash: this.txCodeHash(offerId, txCode),
        tx_code_attempts: 0,
        expires_at: expiresAt,
        redeemed_at: null,
        access_token_hash: null,
        access_expires_at: null,
        credential_issued_at: null,
        created_at: now,
      })
      .execute();
    return { offerId, preAuthorizedCode, txCode, expiresAt };
  }

  /**
   * The token request of the pre-authorized code grant. One answer (invalid_grant) for an unknown, expired, spent or
   * used code, so that nothing tells them apart; a wrong transaction code is counted before it is answered.
   */
  async redeem(trx: Tx, code: string, txCode: string | undefined): Promise<Redemption> {
    const now = this.deps.clock.now();
    if (code.length === 0 || code.length > MAX_CODE_LENGTH) return invalidGrant();
    const row = await trx.selectFrom('credential_offers').selectAll().where('code_hash', '=', this.hash(CODE_PURPOSE, code)).executeTakeFirst();
    if (!row || row.redeemed_at !== null || now >= row.expires_at || row.tx_code_attempts >= MAX_TX_CODE_ATTEMPTS) return invalidGrant();
    const grant = { offerId: row.id, accountId: row.account_id, userId: row.user_id };
    if (txCode === undefined) return { ok: false, error: 'invalid_request', description: 'tx_code is required for this offer', grant };
    // An attempt takes its slot before the code is compared, so that concurrent guesses cannot all be compared while
    // the count still reads low: at most MAX_TX_CODE_ATTEMPTS comparisons happen per offer, whatever the interleaving.
    const slot = await trx
      .updateTable('credential_offers')
      .set((eb) => ({ tx_code_attempts: eb('tx_code_attempts', '+', 1) }))
      .where('id', '=', row.id)
      .where('redeemed_at', 'is', null)
      .where('tx_code_attempts', '<', MAX_TX_CODE_ATTEMPTS)
      .executeTakeFirst();
    if (Number(slot.numUpdatedRows) !== 1) return invalidGrant();
    if (!safeEqual(this.txCodeHash(row.id, txCode), row.tx_code_hash)) {
      return { ok: false, error: 'invalid_grant', description: 'The transaction code is wrong', grant };
    }
    const accessToken = this.deps.random.bytes(32).toString('base64url');
    const claimed = await trx
      .updateTable('credential_offers')
      .set({ redeemed_at: now, access_token_hash: this.hash(ACCESS_TOKEN_PURPOSE, accessToken), access_expires_at: now + ACCESS_TOKEN_SECONDS * 1000 })
      .where('id', '=', row.id)
      .where('redeemed_at', 'is', null)
      .executeTakeFirst();
    // A concurrent redemption of the same code won: a code yields one access token, however the requests interleave.
    if (Number(claimed.numUpdatedRows) !== 1) return invalidGrant();
    return { ok: true, accessToken, expiresIn: ACCESS_TOKEN_SECONDS, grant };
  }

  /** The offer an access token was issued for, while it is unexpired and has not yet obtained its credential. */
  async authorize(executor: Executor, accessToken: string): Promise<OfferGrant | null> {
    if (accessToken.length === 0 || accessToken.length > MAX_CODE_LENGTH) return null;
    const row = await executor
      .selectFrom('credential_offers')
      .select(['id', 'account_id', 'user_id'])
      .where('access_token_hash', '=', this.hash(ACCESS_TOKEN_PURPOSE, accessToken))
      .where('access_expires_at', '>', this.deps.clock.now())
      .where('credential_issued_at', 'is', null)
      .executeTakeFirst();
    return row ? { offerId: row.id, accountId: row.account_id, userId: row.user_id } : null;
  }

  /** Spends the access token; false when a concurrent request with the same token already obtained the credential. */
  async markIssued(trx: Tx, offerId: string): Promise<boolean> {
    const result = await trx
      .updateTable('credential_offers')
      .set({ credential_issued_at: this.deps.clock.now() })
      .where('id', '=', offerId)
      .where('credential_issued_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Erasure: the user's offers go, so that no code or token of theirs can be redeemed any more. */
  async deleteForUser(trx: Tx, userId: string): Promise<void> {
    await trx.deleteFrom('credential_offers').where('user_id', '=', userId).execute();
  }

  /** Retention: an account's offers that expired before `expiredBefore` (spent or not), at most `limit`. */
  async deleteExpired(trx: Tx, where: { accountId: string; expiredBefore: number; limit: number }): Promise<number> {
    return deleteExpiredRows(trx, 'credential_offers', where);
  }

  private hash(purpose: string, value: string): string {
    return this.deps.keyring.keyedHash(purpose, value);
  }

  /** Bound to the offer, so that equal transaction codes of two offers hash differently. */
  private txCodeHash(offerId: string, txCode: string): string {
    return this.hash(TX_CODE_PURPOSE, `${offerId}:${txCode}`);
  }
}

const invalidGrant = (): Redemption => ({ ok: false, error: 'invalid_grant', description: 'The pre-authorized code is invalid, expired or already used' });
