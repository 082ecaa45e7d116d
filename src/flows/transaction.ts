import type { Executor, Store, Tx } from '../store/database.js';
import { preparedQuery } from '../store/prepared.js';
import type { TransactionsTable } from '../store/schema.js';
import type { AssuranceLevel, VerificationSummary } from '../proofing/assurance.js';
import type { FailureReason } from './failure-reasons.js';

/**
 * One transaction type for onboarding and step-up: the same state machine (state.ts) with different first steps
 * (activation vs device authentication). `status` leaves Pending exactly once; `stage` says where a Pending one
 * stands. This file reads transactions; only state.ts writes them.
 */
export type FlowKind = 'onboarding' | 'stepup';
export type Status = 'Pending' | 'Completed' | 'Failed' | 'Expired';
export type Stage = 'activation' | 'authentication' | 'proofing' | 'review' | 'done';

export interface ProviderOptions {
  docType?: number;
  docTypes?: number[];
  defaultId?: number;
}

export interface Transaction {
  id: string;
  accountId: string;
  clientId: string;
  kind: FlowKind;
  userId: string;
  deviceId: string | null;
  status: Status;
  stage: Stage;
  provider: string;
  providerOptions: ProviderOptions;
  dossierId: string;
  processId: string;
  proofingId: string | null;
  userDataSealed: string | null;
  failureReason: FailureReason | null;
  createdAt: number;
  updatedAt: number;
  expiresAt: number;
  endedAt: number | null;
  /** What the RP asked for at Start: a proofing that reaches less fails with assurance_level_not_met. */
  minimumAssuranceLevel: AssuranceLevel | null;
  /** Once Completed: the level reached and how the proofing was done. */
  assuranceLevel: AssuranceLevel | null;
  verification: VerificationSummary | null;
}

/** The columns a Transaction is read from, named so that its prepared statement outlives added columns (prepared.ts). */
const TRANSACTION_COLUMNS = [
  'id',
  'account_id',
  'client_id',
  'kind',
  'user_id',
  'device_id',
  'status',
  'stage',
  'provider',
  'provider_options',
  'dossier_id',
  'process_id',
  'proofing_id',
  'user_data_sealed',
  'failure_reason',
  'created_at',
  'updated_at',
  'expires_at',
  'ended_at',
  'minimum_assurance_level',
  'assurance_level',
  'verification',
] as const satisfies readonly (keyof TransactionsTable)[];

export function toTransaction(row: Pick<TransactionsTable, (typeof TRANSACTION_COLUMNS)[number]>): Transaction {
  return {
    id: row.id,
    accountId: row.account_id,
    clientId: row.client_id,
    kind: row.kind as FlowKind,
    userId: row.user_id,
    deviceId: row.device_id,
    status: row.status as Status,
    stage: row.stage as Stage,
    provider: row.provider,
    providerOptions: JSON.parse(row.provider_options) as ProviderOptions,
    dossierId: row.dossier_id,
    processId: row.process_id,
    proofingId: row.proofing_id,
    userDataSealed: row.user_data_sealed,
    // Only flows/state.ts writes the column, always with a catalogued code.
    failureReason: row.failure_reason as FailureReason | null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
    endedAt: row.ended_at,
    minimumAssuranceLevel: row.minimum_assurance_level as AssuranceLevel | null,
    assuranceLevel: row.assurance_level as AssuranceLevel | null,
    verification: row.verification ? (JSON.parse(row.verification) as VerificationSummary) : null,
  };
}

/** A Pending transaction past its expiry reads as Expired even before the sweeper has recorded it. */
export function effectiveStatus(tx: Transaction, now: number): Status {
  return tx.status === 'Pending' && now >= tx.expiresAt ? 'Expired' : tx.status;
}

/** Every Get onboarding and step-up and every device request starts here: compiled once (store/prepared.ts). */
const selectTransaction = preparedQuery((executor, id: string) => executor.selectFrom('transactions').select(TRANSACTION_COLUMNS).where('id', '=', id));

export async function findTransaction(executor: Executor, id: string): Promise<Transaction | null> {
  if (id.length > 100) return null;
  const [row] = await selectTransaction(executor, id);
  return row ? toTransaction(row) : null;
}

/** The transaction when it belongs to the account and is of the kind asked for; otherwise null, never a hint. */
export async function findAccountTransaction(executor: Executor, accountId: string, kind: FlowKind, id: string): Promise<Transaction | null> {
  const tx = await findTransaction(executor, id);
  return tx && tx.accountId === accountId && tx.kind === kind ? tx : null;
}

/** The onboarding waiting for its device under this activation code (by keyed hash), while the code is valid. */
export async function findByActivationCode(executor: Executor, codeHash: string, now: number): Promise<Transaction | null> {
  const row = await executor.selectFrom('transactions').selectAll().where('activation_code_hash', '=', codeHash).executeTakeFirst();
  if (!row || row.activation_code_expires_at === null || now >= row.activation_code_expires_at) return null;
  return toTransaction(row);
}

/** A user's transactions, oldest first; only the open ones (Pending and not yet expired at `openAt`) when it is given. */
export async function findUserTransactions(executor: Executor, userId: string, openAt?: number): Promise<Transaction[]> {
  let query = executor.selectFrom('transactions').selectAll().where('user_id', '=', userId);
  if (openAt !== undefined) query = query.where('status', '=', 'Pending').where('expires_at', '>', openAt);
  return (await query.orderBy('created_at').execute()).map(toTransaction);
}

/** The user's most recently completed proofing that stated an assurance level, or null (none, or deleted by retention). */
export async function latestAssuredTransaction(executor: Executor, accountId: string, userId: string): Promise<Transaction | null> {
  const row = await executor
    .selectFrom('transactions')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('user_id', '=', userId)
    .where('status', '=', 'Completed')
    .where('assurance_level', 'is not', null)
    .orderBy('ended_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? toTransaction(row) : null;
}

/** Pending transactions past their expiry, oldest first: the sweeper's work. */
export async function findOverdue(executor: Executor, now: number, limit: number): Promise<Transaction[]> {
  const rows = await executor
    .selectFrom('transactions')
    .selectAll()
    .where('status', '=', 'Pending')
    .where('expires_at', '<=', now)
    .orderBy('expires_at')
    .limit(limit)
    .execute();
  return rows.map(toTransaction);
}

/** Retention: ended transactions of the account, ended at or before `endedBefore`, oldest end first. */
export async function findEndedBefore(executor: Executor, accountId: string, endedBefore: number, limit: number): Promise<{ id: string; userId: string }[]> {
  return executor
    .selectFrom('transactions')
    .select(['id', 'user_id as userId'])
    .where('account_id', '=', accountId)
    .where('ended_at', '<=', endedBefore)
    .orderBy('ended_at')
    .limit(limit)
    .execute();
}

/**
 * Retention: the ended transaction, locked until `trx` ends, or null when it is gone, not yet due, or locked by
 * another instance's retention job (skipped, not waited for: that instance deletes it).
 */
export async function claimEnded(store: Pick<Store, 'claimForUpdate'>, trx: Tx, id: string, endedBefore: number): Promise<Transaction | null> {
  const query = trx.selectFrom('transactions').selectAll().where('id', '=', id).where('ended_at', '<=', endedBefore);
  const row = await store.claimForUpdate(query).executeTakeFirst();
  return row ? toTransaction(row) : null;
}

/** Reads the transaction and locks its row until `trx` ends, so that writers of what depends on it take turns. */
export async function lockTransaction(store: Pick<Store, 'lockForUpdate'>, trx: Tx, id: string): Promise<Transaction | null> {
  const row = await store.lockForUpdate(trx.selectFrom('transactions').selectAll().where('id', '=', id)).executeTakeFirst();
  return row ? toTransaction(row) : null;
}
