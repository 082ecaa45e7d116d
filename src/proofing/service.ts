import type { AuditLog } from '../audit/log.js';
import type { EvidenceItem, EvidenceStore } from '../dossier/evidence.js';
import type { FailureReason } from '../flows/failure-reasons.js';
import type { FlowStateMachine } from '../flows/state.js';
import type { RequestMeta } from '../http/request-meta.js';
import type { CredentialRegistry } from '../credentials/registry.js';
import type { Transaction } from '../flows/transaction.js';
import type { UserData } from '../identity/user-data.js';
import type { User, UserStore } from '../identity/users.js';
import { attributesToWrite, compareIdentity, type DocumentAttributes } from '../identity/binding.js';
import { assuranceLevel, meetsAssurance, type AssuranceLevel, type FaceMatchSummary, type VerificationSummary } from './assurance.js';
import { apiError, errors } from '../shared/errors.js';
import type { Executor, Store, Tx } from '../store/database.js';
import type { Clock } from '../shared/runtime.js';

/**
 * A provider's decision on the evidence of one proofing. An accepted one says how the proofing was done
 * (`verification`, from which the assurance level follows), when the provider knows it which document was used, and
 * on a step-up how the person's face compared with the enrolled reference face (when the user has one).
 */
export type Decision =
  | {
      outcome: 'accepted';
      userData: UserData;
      document?: DocumentAttributes;
      verification: VerificationSummary;
      enrolledFace?: FaceMatchSummary;
      evidence: EvidenceItem[];
      details?: Record<string, unknown>;
    }
  | { outcome: 'rejected'; reason: FailureReason; evidence: EvidenceItem[]; details?: Record<string, unknown> };

/**
 * What the server makes of a provider's decision: an accepted proofing still fails when a step-up proved another
 * person than the enrolled one (`identity_mismatch`) or when it reached less than the RP's minimum assurance level
 * (`assurance_level_not_met`). `audit` holds what the audit item may say about it: field names and levels, no values.
 */
export type Settlement =
  | {
      outcome: 'accepted';
      userData: UserData;
      attributes: Record<string, string>;
      level: AssuranceLevel;
      verification: VerificationSummary;
      audit: Record<string, unknown>;
    }
  | { outcome: 'rejected'; reason: FailureReason; audit: Record<string, unknown> };

/**
 * Records proofing decisions. Accepted: the verified attributes land on the user with their provenance (on a step-up,
 * only the document's: the enrolled identity is never rewritten) and in the transaction's userData, and the flow
 * completes with its assurance level. Rejected: the flow fails. One database transaction for all of it.
 */
export class ProofingService {
  constructor(
    private readonly deps: {
      write: Store['write'];
      clock: Clock;
      users: UserStore;
      evidence: EvidenceStore;
      flows: FlowStateMachine;
      audit: AuditLog;
      /** A step-up that proves another person revokes the user's credentials: whoever holds them may not be the user. */
      credentials: Pick<CredentialRegistry, 'revokeForUser'>;
    },
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
   * `alongside` runs inside the same database transaction, before anything is written, so a provider's own record of
   * the decision (an agent's review case, say) commits or rolls back together with it; throwing there aborts the
   * decision. It is told the settled outcome: a step-up its provider accepted may still fail the identity binding.
   */
  async decide(
    tx: Transaction,
    decidedBy: string,
    decision: Decision,
    meta: RequestMeta & { agentId?: string } = {},
    alongside?: (trx: Tx, tx: Transaction, outcome: Settlement['outcome']) => Promise<void>,
  ): Promise<Transaction> {
    return this.deps.write(async (trx) => {
      if (!tx.proofingId) throw alreadyDecided();
      const user = await this.deps.users.find(trx, tx.accountId, tx.userId);
      if (!user) throw errors.transactionNotFound(tx.id);
      const settled = await this.settle(trx, tx, user, decision);
      await alongside?.(trx, tx, settled.outcome);
      const cipher = this.deps.users.cipher(user);
      const now = this.deps.clock.now();
      const decided = await trx
        .updateTable('proofings')
        .set({
          status: settled.outcome,
          decided_at: now,
          decision_sealed: cipher.sealJson({ ...decision, evidence: undefined, decidedBy, settled: settled.audit }, `proofing:${tx.proofingId}:decision`),
        })
        .where('id', '=', tx.proofingId)
        .where('status', '=', 'started')
        .executeTakeFirst();
      if (Number(decided.numUpdatedRows) !== 1) throw alreadyDecided();
      for (const item of decision.evidence) await this.deps.evidence.store(trx, cipher, { dossierId: tx.dossierId, proofingId: tx.proofingId }, item);
      if (settled.outcome === 'accepted') {
        const provenance = { provider: decidedBy, transactionId: tx.id, proofingId: tx.proofingId, verifiedAt: now };
        await this.deps.users.writeVerifiedAttributes(trx, user, settled.attributes, provenance);
      }
      await this.deps.audit.append(trx, {
        accountId: tx.accountId,
        eventType: 'proofing.decided',
        message: `Proofing ${settled.outcome}`,
        traceId: meta.traceId,
        ipAddress: meta.ipAddress,
        userId: tx.userId,
        referenceId: tx.id,
        data: {
          proofingId: tx.proofingId,
          provider: decidedBy,
          outcome: settled.outcome,
          ...(meta.agentId ? { agentId: meta.agentId } : {}),
          ...(settled.outcome === 'rejected' ? { reason: settled.reason } : {}),
          ...settled.audit,
        },
      });
      const ended =
        settled.outcome === 'accepted'
          ? await this.deps.flows.transition(
              trx,
              tx,
              'complete',
              { userData: settled.userData, assurance: { level: settled.level, verification: settled.verification } },
              meta,
              user,
            )
          : await this.deps.flows.transition(trx, tx, 'fail', { reason: settled.reason }, meta);
      if (!ended) throw alreadyDecided();
      if (settled.outcome === 'rejected' && settled.reason === 'identity_mismatch') {
        await this.deps.credentials.revokeForUser(trx, { accountId: tx.accountId, userId: tx.userId, reason: 'identity_mismatch' }, meta);
      }
      return ended;
    });
  }

  /** The identity binding of a step-up first (the weightier finding), then the RP's minimum assurance level. */
  private async settle(trx: Tx, tx: Transaction, user: User, decision: Decision): Promise<Settlement> {
    if (decision.outcome === 'rejected') return { outcome: 'rejected', reason: decision.reason, audit: {} };
    if (tx.kind === 'stepup') {
      const binding = compareIdentity(await this.deps.users.readAttributes(trx, user), decision.userData, decision.enrolledFace);
      if (!binding.matches) return { outcome: 'rejected', reason: 'identity_mismatch', audit: { providerOutcome: 'accepted', mismatched: binding.mismatched } };
    }
    const level = assuranceLevel(decision.verification);
    const minimum = tx.minimumAssuranceLevel;
    if (minimum && !meetsAssurance(level, minimum)) {
      return {
        outcome: 'rejected',
        reason: 'assurance_level_not_met',
        audit: { providerOutcome: 'accepted', assuranceLevel: level, minimumAssuranceLevel: minimum },
      };
    }
    const attributes = attributesToWrite(tx.kind, decision.userData, decision.document);
    return { outcome: 'accepted', userData: decision.userData, attributes, level, verification: decision.verification, audit: { assuranceLevel: level } };
  }
}

/**
 * Retention: a deleted transaction's proofings (with their sealed decisions) go with it. A provider's own rows about
 * a proofing or a transaction (VideoID review cases, ReadID challenges and attempts) are declared part of it in the
 * schema (ON DELETE CASCADE, on both databases) and go with them.
 */
export async function deleteTransactionProofings(executor: Executor, transactionId: string): Promise<void> {
  await executor.deleteFrom('proofings').where('transaction_id', '=', transactionId).execute();
}

const alreadyDecided = () => apiError('transaction_not_pending', 'The transaction has already ended, expired, or its proofing was already decided.');
