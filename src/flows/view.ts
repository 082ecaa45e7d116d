import type { UserData } from '../identity/user-data.js';
import { isoTime } from '../shared/runtime.js';
import { effectiveStatus, type Status, type Transaction } from './transaction.js';

/**
 * The `data` object of Get onboarding / Get step-up, also the `eventData` of the flow's events, so polling and
 * callbacks agree. The seed's fields come first; `stage`, `failureReason`, `createdAt` and `expiresAt` are additive.
 * The activation code is returned by Start onboarding only: it is stored as a hash and cannot be shown again.
 */
export interface TransactionData {
  status: Status;
  transactionId: string;
  userId: string;
  deviceId?: string;
  proofingId?: string;
  dossierId: string;
  processId: string;
  provider: string;
  userData?: UserData;
  stage: string;
  failureReason?: string;
  createdAt: string;
  expiresAt: string;
  endedAt?: string;
}

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
    createdAt: isoTime(tx.createdAt),
    expiresAt: isoTime(tx.expiresAt),
    ...(tx.endedAt ? { endedAt: isoTime(tx.endedAt) } : status === 'Expired' ? { endedAt: isoTime(tx.expiresAt) } : {}),
  };
}
