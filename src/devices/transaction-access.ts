import type { Config } from '../config.js';
import { errors } from '../shared/errors.js';
import { effectiveStatus, findTransaction, type Transaction } from '../flows/transaction.js';
import type { ProviderRegistry } from '../proofing/registry.js';
import type { Clock } from '../shared/runtime.js';
import type { Db } from '../store/database.js';
import { encodeContext, postOperation } from './contexts.js';
import type { Device } from './device-store.js';
import type { DeviceTransaction, OperationContext } from './schemas.js';

/** What a device may know of a transaction: only its own, and never another device's. */
export class DeviceTransactions {
  constructor(
    private readonly deps: { db: Db; clock: Clock; config: Pick<Config, 'publicUrl' | 'sandbox'>; providers: Pick<ProviderRegistry, 'forTransaction'> },
  ) {}

  /** The device's own transaction; another device's (or none) answers 404 alike. */
  async find(device: Device, transactionId: string): Promise<Transaction> {
    const tx = await findTransaction(this.deps.db, transactionId);
    if (!tx || tx.deviceId !== device.id) throw errors.transactionNotFound(transactionId);
    return tx;
  }

  /** The device's view: status and stage, and the post-operation context again while proofing is open. */
  async view(tx: Transaction): Promise<DeviceTransaction> {
    const status = effectiveStatus(tx, this.deps.clock.now());
    const open = status === 'Pending' && (tx.stage === 'proofing' || tx.stage === 'review');
    const context = open ? await this.postOperationContext(tx) : undefined;
    return {
      transactionId: tx.id,
      status,
      stage: status === 'Pending' ? tx.stage : 'done',
      ...(tx.failureReason ? { failureReason: tx.failureReason } : {}),
      ...(context ? { post_operation_context: context } : {}),
    };
  }

  /** The post-operation context of a transaction in its proofing stage: what the app needs to run the proofing. */
  async postOperationContext(tx: Transaction): Promise<OperationContext> {
    const provider = this.deps.providers.forTransaction(tx);
    const { publicUrl, sandbox } = this.deps.config;
    return encodeContext(postOperation(tx, provider.processType, publicUrl, await provider.deviceInstructions(tx), sandbox));
  }
}
