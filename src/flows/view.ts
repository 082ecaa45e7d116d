import type { z } from 'zod';
import type { UserData } from '../identity/user-data.js';
import type { TransactionDataSchema } from './schemas.js';
import { isoTime } from '../shared/runtime.js';
import { effectiveStatus, type Transaction } from './transaction.js';

/**
 * The `data` object of Get onboarding / Get step-up, also the `eventData` of the flow's events, so polling and
 * callbacks agree. The seed's fields come first; `stage`, `failureReason`, `assuranceLevel`, `verification` (completed only),
 * `createdAt` and `expiresAt` are additive.
 * The activation code is returned by Start onboarding only: it is stored as a hash and cannot be shown again.
 */
export type TransactionData = z.infer<typeof TransactionDataSchema>;

export function transactionData(tx: Transaction, now: number, userData: UserData | null): TransactionData {
  const status = effectiveStatus(tx, now);
  return {
    status,
    transactionId: tx.id,
    userId: tx.userId,
    ...(tx.deviceId ? { deviceId: tx.deviceId } : {}),
    ...(tx.proofingId ? { proofingId: tx.proofingId } : {}),
    dossierId: tx.dossierId,
    processId: tx.processId,
    provider: tx.provider,
    ...(userData ? { userData } : {}),
    stage: status === 'Pending' ? tx.stage : 'done',
    ...(tx.failureReason ? { failureReason: tx.failureReason } : status === 'Expired' ? { failureReason: 'expired' } : {}),
    ...(tx.assuranceLevel && tx.verification ? { assuranceLevel: tx.assuranceLevel, verification: tx.verification } : {}),
    createdAt: isoTime(tx.createdAt),
    expiresAt: isoTime(tx.expiresAt),
    ...(tx.endedAt ? { endedAt: isoTime(tx.endedAt) } : status === 'Expired' ? { endedAt: isoTime(tx.expiresAt) } : {}),
  };
}
