import type { AuditLog } from '../audit/log.js';
import type { RequestMeta } from '../http/request-meta.js';
import type { EventName } from '../events/catalogue.js';
import type { Outbox } from '../events/outbox.js';
import type { UserData } from '../identity/user-data.js';
import type { UserStore } from '../identity/users.js';
import type { Executor, Tx } from '../store/database.js';
import type { Clock } from '../shared/runtime.js';
import { findTransaction, type Transaction } from './transaction.js';
import { transactionData } from './view.js';

export type EndStatus = 'Completed' | 'Failed' | 'Expired';
/** The word an ended status takes in event names (onboarding.completed, stepup.expired, …). */
const EVENT_STATUS = { Completed: 'completed', Failed: 'failed', Expired: 'expired' } as const satisfies Record<EndStatus, string>;

/**
 * The only way a transaction leaves Pending. The status change, its audit item and its outbox event are written in
 * the caller's database transaction; the conditional update makes a second, concurrent ending a no-op.
 */
export class FlowLifecycle {
  constructor(private readonly deps: { clock: Clock; audit: AuditLog; outbox: Outbox; users: UserStore }) {}

  /** Ends the transaction; returns the ended transaction, or null when it had already left Pending. */
  async end(
    trx: Tx,
    tx: Transaction,
    outcome: { status: EndStatus; reason?: string; userData?: UserData },
    meta: RequestMeta = {},
  ): Promise<Transaction | null> {
    const now = this.deps.clock.now();
    const user = await this.deps.users.find(trx, tx.accountId, tx.userId);
    if (!user) return null;
    const userDataSealed = outcome.userData ? this.deps.users.cipher(user).sealJson(outcome.userData, userDataContext(tx.id)) : null;
    let update = trx
      .updateTable('transactions')
      .set({ status: outcome.status, stage: 'done', user_data_sealed: userDataSealed, failure_reason: outcome.reason ?? null, updated_at: now, ended_at: now, activation_code_hash: null })
      .where('id', '=', tx.id)
      .where('status', '=', 'Pending');
    // Only the sweeper may end an expired transaction, and only as Expired.
    update = outcome.status === 'Expired' ? update.where('expires_at', '<=', now) : update.where('expires_at', '>', now);
    const result = await update.executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) return null;

    const ended = (await findTransaction(trx, tx.id))!;
    const data = transactionData(ended, now, outcome.userData ?? null);
    const eventName: EventName = `${tx.kind}.${EVENT_STATUS[outcome.status]}`;
    await this.deps.audit.append(trx, {
      accountId: tx.accountId,
      eventType: eventName,
      message: `${tx.kind === 'onboarding' ? 'Onboarding' : 'Step-up'} ${outcome.status.toLowerCase()}`,
      clientId: meta.clientId ?? tx.clientId,
      traceId: meta.traceId ?? null,
      ipAddress: meta.ipAddress ?? null,
      userId: tx.userId,
      referenceId: tx.id,
      data: { provider: tx.provider, deviceId: tx.deviceId, proofingId: tx.proofingId, ...(outcome.reason ? { reason: outcome.reason } : {}) },
    });
    await this.deps.outbox.enqueue(trx, tx.accountId, eventName, data);
    return ended;
  }

  /** Reads the transaction's userData (sealed with the user's key). */
  async readUserData(executor: Executor, tx: Transaction): Promise<UserData | null> {
    if (!tx.userDataSealed) return null;
    const user = await this.deps.users.find(executor, tx.accountId, tx.userId);
    return user ? this.deps.users.cipher(user).openJson<UserData>(tx.userDataSealed, userDataContext(tx.id)) : null;
  }
}

const userDataContext = (transactionId: string) => `transaction:${transactionId}:userData`;
