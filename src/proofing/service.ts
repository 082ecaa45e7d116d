import type { AuditLog } from '../audit/log.js';
import type { EvidenceItem, EvidenceStore } from '../dossier/evidence.js';
import type { FlowStateMachine } from '../flows/state.js';
import type { RequestMeta } from '../http/request-meta.js';
import type { Transaction } from '../flows/transaction.js';
import type { UserData } from '../identity/user-data.js';
import type { UserStore } from '../identity/users.js';
import { apiError, errors } from '../shared/errors.js';
import type { Store, Tx } from '../store/database.js';
import type { Clock } from '../shared/runtime.js';

/** A provider's decision on the evidence of one proofing. */
export type Decision =
  | { outcome: 'accepted'; userData: UserData; evidence: EvidenceItem[]; details?: Record<string, unknown> }
  | { outcome: 'rejected'; reason: string; evidence: EvidenceItem[]; details?: Record<string, unknown> };

/**
 * Records proofing decisions. Accepted: the verified attributes land on the user with their provenance and in the
 * transaction's userData, and the flow completes. Rejected: the flow fails. One database transaction for all of it.
 */
export class ProofingService {
  constructor(
    private readonly deps: { write: Store['write']; clock: Clock; users: UserStore; evidence: EvidenceStore; flows: FlowStateMachine; audit: AuditLog },
  ) {}

  /** Creates the proofing process of a transaction entering its proofing stage. */
  async start(trx: Tx, tx: Transaction, proofingId: string): Promise<void> {
    await trx
      .insertInto('proofings')
      .values({
        id: proofingId,
        transaction_id: tx.id,
        dossier_id: tx.dossierId,
        provider: tx.provider,
        status: 'started',
        decision_sealed: null,
        created_at: this.deps.clock.now(),
        decided_at: null,
      })
      .execute();
  }

  /**
   * `alongside` runs first inside the same database transaction, so a provider's own record of the decision (an
   * agent's review case, say) commits or rolls back together with it; throwing there aborts the decision.
   */
  async decide(
    tx: Transaction,
    decidedBy: string,
    decision: Decision,
    meta: RequestMeta & { agentId?: string } = {},
    alongside?: (trx: Tx, tx: Transaction) => Promise<void>,
  ): Promise<Transaction> {
    return this.deps.write(async (trx) => {
      if (!tx.proofingId) throw alreadyDecided();
      await alongside?.(trx, tx);
      const user = await this.deps.users.find(trx, tx.accountId, tx.userId);
      if (!user) throw errors.transactionNotFound(tx.id);
      const cipher = this.deps.users.cipher(user);
      const now = this.deps.clock.now();
      const decided = await trx
        .updateTable('proofings')
        .set({
          status: decision.outcome,
          decided_at: now,
          decision_sealed: cipher.sealJson({ ...decision, evidence: undefined, decidedBy }, `proofing:${tx.proofingId}:decision`),
        })
        .where('id', '=', tx.proofingId)
        .where('status', '=', 'started')
        .executeTakeFirst();
      if (Number(decided.numUpdatedRows) !== 1) throw alreadyDecided();
      for (const item of decision.evidence) await this.deps.evidence.store(trx, cipher, { dossierId: tx.dossierId, proofingId: tx.proofingId }, item);
      if (decision.outcome === 'accepted') {
        const provenance = { provider: decidedBy, transactionId: tx.id, proofingId: tx.proofingId, verifiedAt: now };
        await this.deps.users.writeVerifiedAttributes(trx, user, { ...decision.userData }, provenance);
      }
      await this.deps.audit.append(trx, {
        accountId: tx.accountId,
        eventType: 'proofing.decided',
        message: `Proofing ${decision.outcome}`,
        traceId: meta.traceId,
        ipAddress: meta.ipAddress,
        userId: tx.userId,
        referenceId: tx.id,
        data: {
          proofingId: tx.proofingId,
          provider: decidedBy,
          outcome: decision.outcome,
          ...(meta.agentId ? { agentId: meta.agentId } : {}),
          ...(decision.outcome === 'rejected' ? { reason: decision.reason } : {}),
        },
      });
      const ended =
        decision.outcome === 'accepted'
          ? await this.deps.flows.transition(trx, tx, 'complete', { userData: decision.userData }, meta, user)
          : await this.deps.flows.transition(trx, tx, 'fail', { reason: decision.reason }, meta);
      if (!ended) throw alreadyDecided();
      return ended;
    });
  }
}

const alreadyDecided = () => apiError('transaction_not_pending', 'The transaction has already ended, expired, or its proofing was already decided.');
