import type { Transaction } from '../flows/transaction.js';
import { isoTime } from '../shared/runtime.js';
import type { OperationContext, SignicatOperation } from './schemas.js';

/**
 * Operation contexts in the Signicat wire shape `{context_content_b64, context_mime}`, carrying a `signicatOperation`
 * object. The pre-operation context (step-up, shown before the user approves) says only what is about to happen;
 * the post-operation context (released after activation or approval) carries what the app needs to run proofing.
 */
export function encodeContext(signicatOperation: SignicatOperation): OperationContext {
  return {
    context_content_b64: Buffer.from(JSON.stringify({ signicatOperation }), 'utf8').toString('base64'),
    context_mime: 'application/json',
  };
}

/** The `signicatOperation` a context carries (what the app reads). */
export function decodeOperationContext(context: Pick<OperationContext, 'context_content_b64'>): SignicatOperation {
  return (JSON.parse(Buffer.from(context.context_content_b64, 'base64').toString('utf8')) as { signicatOperation: SignicatOperation }).signicatOperation;
}

export function preOperation(tx: Transaction, processType: string): SignicatOperation {
  return { operation: tx.kind, provider: tx.provider, processType };
}

export function postOperation(
  tx: Transaction,
  processType: string,
  publicUrl: string,
  providerInstructions: Record<string, unknown>,
  sandbox: boolean,
): SignicatOperation {
  return {
    operation: tx.kind,
    provider: tx.provider,
    processType,
    transactionId: tx.id,
    userId: tx.userId,
    deviceId: tx.deviceId,
    dossierId: tx.dossierId,
    processId: tx.processId,
    proofingId: tx.proofingId,
    providerOptions: tx.providerOptions,
    proofingUrl: `${publicUrl}/device/v1/transactions/${tx.id}/proofing/${tx.provider}`,
    expiresAt: isoTime(tx.expiresAt),
    ...providerInstructions,
    ...(sandbox ? { sandbox: true, sandboxProofingUrl: `${publicUrl}/device/v1/transactions/${tx.id}/proofing/sandbox` } : {}),
  };
}
