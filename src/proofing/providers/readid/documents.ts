import type { Transaction } from '../../../flows/transaction.js';
import { apiError } from '../../../shared/errors.js';
import type { DocumentData } from '../../../icao/index.js';
import type { Executor, Tx } from '../../../store/database.js';
import type { ProviderServices } from '../../provider.js';

/**
 * Which user of an account a document belongs to, so that one passport cannot onboard two identities. A document is
 * known only by a keyed hash of issuing state, document code and number: a database dump does not list passports.
 * The first user to complete proofing with a document owns it; with the `allow` policy later users are accepted but
 * do not take it over.
 */
export type DuplicatePolicy = 'reject' | 'allow';

export class DocumentBindings {
  constructor(private readonly ctx: Pick<ProviderServices, 'keyring' | 'clock'>) {}

  hash(document: Pick<DocumentData, 'issuingState' | 'documentCode' | 'documentNumber'>): string {
    return this.ctx.keyring.keyedHash('readid-document', [document.issuingState, document.documentCode, document.documentNumber].join('\0'));
  }

  async owner(executor: Executor, accountId: string, documentHash: string): Promise<string | null> {
    const row = await executor
      .selectFrom('readid_documents')
      .select('user_id')
      .where('account_id', '=', accountId)
      .where('document_hash', '=', documentHash)
      .executeTakeFirst();
    return row?.user_id ?? null;
  }

  /**
   * Binds the document to the transaction's user unless it already has an owner, and returns the owner. Under
   * `reject`, losing a race to another user's concurrent proofing aborts the caller's database transaction: the
   * primary key makes the second insert wait for the first and then do nothing, so the owner read here is final.
   */
  async bind(trx: Tx, tx: Transaction, documentHash: string, policy: DuplicatePolicy): Promise<string> {
    await trx
      .insertInto('readid_documents')
      .values({ account_id: tx.accountId, document_hash: documentHash, user_id: tx.userId, transaction_id: tx.id, created_at: this.ctx.clock.now() })
      .onConflict((oc) => oc.columns(['account_id', 'document_hash']).doNothing())
      .execute();
    const owner = (await this.owner(trx, tx.accountId, documentHash))!;
    if (owner !== tx.userId && policy === 'reject') {
      throw apiError('document_bound_to_other_user', 'This document was just bound to another user; submit again for a decision.');
    }
    return owner;
  }
}
