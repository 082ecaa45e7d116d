import type { DeviceTransaction } from './schemas.js';
import type { AppContext } from '../context.js';
import { errors } from '../shared/errors.js';
import { effectiveStatus, findTransaction, type Transaction } from '../flows/transaction.js';
import { encodeContext, postOperation } from './contexts.js';
import type { Device } from './device-store.js';

export { DeviceTransactionParams, DeviceTransactionResponse } from './schemas.js';

/** What a device may know of a transaction: only its own, and never another device's. */
export async function deviceTransaction(ctx: AppContext, device: Device, transactionId: string): Promise<Transaction> {
  const tx = await findTransaction(ctx.store.db, transactionId);
  if (!tx || tx.deviceId !== device.id) throw errors.transactionNotFound(transactionId);
  return tx;
}

/** The device's view: status and stage, and the post-operation context again while proofing is open. */
export async function deviceTransactionView(ctx: AppContext, tx: Transaction): Promise<DeviceTransaction> {
  const status = effectiveStatus(tx, ctx.clock.now());
  const open = status === 'Pending' && (tx.stage === 'proofing' || tx.stage === 'review');
  const context = open ? await postOperationContext(ctx, tx) : undefined;
  return {
    transactionId: tx.id,
    status,
    stage: status === 'Pending' ? tx.stage : 'done',
    ...(tx.failureReason ? { failureReason: tx.failureReason } : {}),
    ...(context ? { post_operation_context: context } : {}),
  };
}

/** The post-operation context of a transaction in its proofing stage: what the app needs to run the proofing. */
export async function postOperationContext(ctx: AppContext, tx: Transaction) {
  const provider = ctx.providers.forTransaction(tx);
  return encodeContext(postOperation(tx, provider.processType, ctx.config.publicUrl, await provider.deviceInstructions(tx), ctx.config.sandbox));
}
