import type { AuditLog } from '../audit/log.js';
import type { Config } from '../config.js';
import type { FlowStateMachine } from '../flows/state.js';
import type { ProviderRegistry } from '../proofing/registry.js';
import type { ProofingService } from '../proofing/service.js';
import type { Clock, RandomSource } from '../shared/runtime.js';
import type { Executor, Store } from '../store/database.js';
import { apiError, errors } from '../shared/errors.js';
import type { RequestMeta } from '../http/request-meta.js';
import { findTransaction, toTransaction, type Transaction } from '../flows/transaction.js';
import type { Tx } from '../store/database.js';
import { isoTime } from '../shared/runtime.js';
import { encodeContext, preOperation } from './contexts.js';
import type { PendingOperation } from './schemas.js';
import { devicePublicKey, type Device } from './device-store.js';
import { APPROVAL_TYP, ProofRejected, verifyDeviceJws } from './proofs.js';

/**
 * Pending device operations: a step-up waits for the registered device to approve a fresh random challenge by
 * signing it with the device key. Approval releases the post-operation context; refusal fails the step-up.
 */
export interface DeviceOperationsDeps {
  store: Pick<Store, 'db' | 'write'>;
  clock: Clock;
  random: RandomSource;
  config: Pick<Config, 'stepUpApprovalTtlSeconds'>;
  audit: Pick<AuditLog, 'append'>;
  flows: Pick<FlowStateMachine, 'transition'>;
  proofing: Pick<ProofingService, 'start'>;
  providers: Pick<ProviderRegistry, 'forTransaction'>;
}

export class DeviceOperations {
  constructor(private readonly ctx: DeviceOperationsDeps) {}

  async create(trx: Tx, tx: Transaction, deviceId: string): Promise<void> {
    const now = this.ctx.clock.now();
    await trx
      .insertInto('device_operations')
      .values({
        id: this.ctx.random.uuid(),
        transaction_id: tx.id,
        device_id: deviceId,
        kind: 'stepup',
        challenge: this.ctx.random.bytes(32).toString('base64url'),
        status: 'pending',
        created_at: now,
        expires_at: Math.min(now + this.ctx.config.stepUpApprovalTtlSeconds * 1000, tx.expiresAt),
        decided_at: null,
      })
      .execute();
  }

  async listPending(device: Device): Promise<PendingOperation[]> {
    const now = this.ctx.clock.now();
    const rows = await this.ctx.store.db
      .selectFrom('device_operations')
      .innerJoin('transactions', 'transactions.id', 'device_operations.transaction_id')
      .selectAll('transactions')
      .select([
        'device_operations.id as operation_id',
        'device_operations.challenge as operation_challenge',
        'device_operations.expires_at as operation_expires_at',
      ])
      .where('device_operations.device_id', '=', device.id)
      .where('device_operations.status', '=', 'pending')
      .where('device_operations.expires_at', '>', now)
      .where('transactions.status', '=', 'Pending')
      .orderBy('device_operations.created_at')
      .limit(20)
      .execute();
    return rows.map(({ operation_id, operation_challenge, operation_expires_at, ...transactionRow }) => {
      const tx = toTransaction(transactionRow);
      return {
        operationId: operation_id,
        transactionId: tx.id,
        operation: 'stepup',
        challenge: operation_challenge,
        expiresAt: isoTime(operation_expires_at),
        pre_operation_context: encodeContext(preOperation(tx, this.ctx.providers.forTransaction(tx).processType)),
      };
    });
  }

  /** Verifies the signed decision and applies it; returns the transaction as it stands afterwards. */
  async decide(device: Device, operationId: string, signature: string, meta: RequestMeta): Promise<Transaction> {
    const now = this.ctx.clock.now();
    const operation = await this.ctx.store.db.selectFrom('device_operations').selectAll().where('id', '=', operationId).executeTakeFirst();
    if (!operation || operation.device_id !== device.id) throw operationNotFound(operationId);
    const decision = await this.verifyDecision(device, operation, signature);
    const tx = await findTransaction(this.ctx.store.db, operation.transaction_id);
    if (!tx) throw operationNotFound(operationId);
    return this.ctx.store.write(async (trx) => {
      const claimed = await trx
        .updateTable('device_operations')
        .set({ status: decision === 'approve' ? 'approved' : 'rejected', decided_at: now })
        .where('id', '=', operationId)
        .where('status', '=', 'pending')
        .where('expires_at', '>', now)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) throw operationClosed();
      if (decision === 'reject') {
        await this.ctx.audit.append(trx, {
          accountId: tx.accountId,
          eventType: 'device.authentication.rejected',
          message: 'Device refused the step-up',
          traceId: meta.traceId,
          ipAddress: meta.ipAddress,
          userId: tx.userId,
          referenceId: tx.id,
          data: { deviceId: device.id, operationId },
        });
        const ended = await this.ctx.flows.transition(trx, tx, 'fail', { reason: 'device_rejected' }, meta);
        if (!ended) throw operationClosed();
        return ended;
      }
      const proofingId = this.ctx.random.uuid();
      const audit = { eventType: 'device.authenticated', message: 'Device approved the step-up challenge', data: { operationId } };
      const approved = await this.ctx.flows.transition(trx, tx, 'approve', { proofingId, audit }, meta);
      if (!approved) throw operationClosed();
      await this.ctx.proofing.start(trx, approved, proofingId);
      return approved;
    });
  }

  private async verifyDecision(device: Device, operation: { id: string; challenge: string }, signature: string): Promise<'approve' | 'reject'> {
    try {
      const { payload } = await verifyDeviceJws(signature, APPROVAL_TYP, await devicePublicKey(device));
      if (payload.operationId !== operation.id || payload.challenge !== operation.challenge)
        throw new ProofRejected("the signature is not over this operation's challenge");
      if (payload.decision !== 'approve' && payload.decision !== 'reject') throw new ProofRejected('decision must be approve or reject');
      return payload.decision;
    } catch (error) {
      if (error instanceof ProofRejected) throw errors.invalidParameters([{ name: 'signature', reason: error.message }], 'The signed decision was rejected.');
      throw error;
    }
  }
}

const operationNotFound = (id: string) => apiError('operation_not_found', `No pending operation ${id} exists for this device.`);
const operationClosed = () => apiError('operation_not_pending', 'The operation was already decided, has expired, or its transaction has ended.');

/** Marks pending operations past their time as expired (the sweeper's housekeeping; reads check expiry anyway). */
/** Retention: a deleted transaction's challenges go with it. */
export async function deleteTransactionOperations(executor: Executor, transactionId: string): Promise<void> {
  await executor.deleteFrom('device_operations').where('transaction_id', '=', transactionId).execute();
}

export async function expireLapsedOperations(executor: Executor, now: number): Promise<void> {
  await executor.updateTable('device_operations').set({ status: 'expired' }).where('status', '=', 'pending').where('expires_at', '<=', now).execute();
}
