import type { AuditLog } from '../audit/log.js';
import type { EventName } from '../events/catalogue.js';
import type { Outbox } from '../events/outbox.js';
import type { RequestMeta } from '../http/request-meta.js';
import type { UserData } from '../identity/user-data.js';
import type { User, UserStore } from '../identity/users.js';
import type { Executor, Insert, Tx } from '../store/database.js';
import type { TransactionsTable } from '../store/schema.js';
import { rowInsert } from '../store/row-insert.js';
import type { Clock } from '../shared/runtime.js';
import type { AssuranceLevel, VerificationSummary } from '../proofing/assurance.js';
import type { FailureReason } from './failure-reasons.js';
import { toTransaction, type FlowKind, type Stage, type Status, type Transaction } from './transaction.js';
import { transactionData } from './view.js';

/**
 * The transaction state machine, held as data (after Kratos's flow/state.go). A transaction is created Pending in its
 * first stage (activation for onboarding, authentication for step-up); every later change is one of the transitions
 * below, and nothing else writes the `transactions` table. Each transition is a conditional update (Pending, in one
 * of its `from` stages, not expired — or expired, for `expire`), so of two racing requests exactly one wins, and it is
 * written together with one audit item and its outbox event `<kind>.<event>` (carrying the same data as Get
 * onboarding / Get step-up) in the caller's database transaction.
 */
export type EndStatus = Exclude<Status, 'Pending'>;
export type TransitionName = 'activate' | 'approve' | 'submitForReview' | 'requestCapture' | 'complete' | 'fail' | 'expire';

export interface TransitionRule {
  kinds: readonly FlowKind[];
  from: readonly Stage[];
  to: { status: 'Pending'; stage: Stage } | { status: EndStatus };
  /** The event (and audit type) is `<kind>.<event>`, for example `onboarding.completed`. */
  event: string;
  description: string;
}

const BOTH: readonly FlowKind[] = ['onboarding', 'stepup'];
const OPEN_STAGES: readonly Stage[] = ['activation', 'authentication', 'proofing', 'review'];

export const TRANSITIONS: Readonly<Record<TransitionName, TransitionRule>> = {
  activate: {
    kinds: ['onboarding'],
    from: ['activation'],
    to: { status: 'Pending', stage: 'proofing' },
    event: 'activated',
    description: 'the device activated with the code',
  },
  approve: {
    kinds: ['stepup'],
    from: ['authentication'],
    to: { status: 'Pending', stage: 'proofing' },
    event: 'approved',
    description: 'the device approved the challenge',
  },
  submitForReview: {
    kinds: BOTH,
    from: ['proofing'],
    to: { status: 'Pending', stage: 'review' },
    event: 'review_started',
    description: 'a capture waits for an agent',
  },
  requestCapture: {
    kinds: BOTH,
    from: ['review'],
    to: { status: 'Pending', stage: 'proofing' },
    event: 'capture_requested',
    description: 'the agent asked for a new capture',
  },
  complete: { kinds: BOTH, from: ['proofing', 'review'], to: { status: 'Completed' }, event: 'completed', description: 'the proofing accepted the identity' },
  fail: { kinds: BOTH, from: OPEN_STAGES, to: { status: 'Failed' }, event: 'failed', description: 'refused, rejected or erased' },
  expire: { kinds: BOTH, from: OPEN_STAGES, to: { status: 'Expired' }, event: 'expired', description: 'its time ran out' },
};

/** The first stage of each kind: where `create` puts a new transaction. */
export const FIRST_STAGE: Readonly<Record<FlowKind, Stage>> = { onboarding: 'activation', stepup: 'authentication' };

/** Every event name a flow can emit: part of the published event catalogue. */
export const FLOW_EVENT_NAMES: readonly string[] = (Object.values(TRANSITIONS) as TransitionRule[]).flatMap((rule) =>
  rule.kinds.map((kind) => `${kind}.${rule.event}`),
);

export interface TransitionInput {
  /** Failure reason (fail; expire defaults to `expired`): a code of the catalogue in failure-reasons.ts. */
  reason?: FailureReason;
  /** The verified identity (complete): sealed with the user's key into the transaction. */
  userData?: UserData;
  /** The assurance level reached and how (complete): no personal data, stored as is. */
  assurance?: { level: AssuranceLevel; verification: VerificationSummary };
  /** Set on entering proofing: the device (activate) and the proofing process (activate, approve). */
  deviceId?: string;
  proofingId?: string;
  /** activate only: the hash of the presented code, which must still be the transaction's, unexpired. */
  activationCodeHash?: string;
  /**
   * The audit item, when the caller can name what happened more precisely than the flow (`device.activated`,
   * `videoid.capture.received`); its data joins the flow's. No personal data.
   */
  audit?: { eventType: string; message: string; data?: Record<string, unknown> };
}

export class FlowStateMachine {
  constructor(private readonly deps: { clock: Clock; audit: AuditLog; outbox: Outbox; users: UserStore }) {}

  /**
   * A new transaction and the insert that stores it (for Store.insertTogether): the machine, not the caller, puts it
   * Pending in the first stage of its kind.
   */
  newTransaction(executor: Executor, row: Omit<TransactionsTable, 'status' | 'stage'>): { transaction: Transaction; insert: Insert } {
    const pending: TransactionsTable = { ...row, status: 'Pending', stage: FIRST_STAGE[row.kind as FlowKind] };
    return { transaction: toTransaction(pending), insert: rowInsert(executor, 'transactions', pending) };
  }

  /**
   * Applies a transition; returns the transaction as it now stands, or null when it did not apply (another request
   * got there first, the transaction ended or expired, or — for activate — the code is no longer the transaction's).
   */
  async transition(
    trx: Tx,
    tx: Transaction,
    name: TransitionName,
    input: TransitionInput = {},
    meta: RequestMeta = {},
    user?: User,
  ): Promise<Transaction | null> {
    const rule = TRANSITIONS[name];
    if (!rule.kinds.includes(tx.kind)) return null;
    const now = this.deps.clock.now();
    const changes = await this.changes(trx, tx, rule, input, now, user);
    let update = trx
      .updateTable('transactions')
      .set(changes)
      .where('id', '=', tx.id)
      .where('status', '=', 'Pending')
      .where('stage', 'in', [...rule.from]);
    // Only the sweeper ends an expired transaction, and only as Expired; every other move needs time left.
    update = name === 'expire' ? update.where('expires_at', '<=', now) : update.where('expires_at', '>', now);
    if (input.activationCodeHash !== undefined)
      update = update.where('activation_code_hash', '=', input.activationCodeHash).where('activation_code_expires_at', '>', now);
    if (Number((await update.executeTakeFirst()).numUpdatedRows) !== 1) return null;
    const moved = applyChanges(tx, changes);
    await this.record(trx, moved, name, rule, input, meta, now);
    return moved;
  }

  /** A fresh activation code for an onboarding still waiting for its device (an idempotent replay of Start). */
  async replaceActivationCode(executor: Executor, transactionId: string, codeHash: string, codeExpiresAt: number): Promise<boolean> {
    const now = this.deps.clock.now();
    const result = await executor
      .updateTable('transactions')
      .set({ activation_code_hash: codeHash, activation_code_expires_at: codeExpiresAt, updated_at: now })
      .where('id', '=', transactionId)
      .where('status', '=', 'Pending')
      .where('stage', '=', 'activation')
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Reads the transaction's userData (sealed with the user's key). */
  async readUserData(executor: Executor, tx: Transaction): Promise<UserData | null> {
    if (!tx.userDataSealed) return null;
    const user = await this.deps.users.find(executor, tx.accountId, tx.userId);
    return user ? this.deps.users.cipher(user).openJson<UserData>(tx.userDataSealed, userDataContext(tx.id)) : null;
  }

  private async changes(trx: Tx, tx: Transaction, rule: TransitionRule, input: TransitionInput, now: number, user?: User): Promise<Partial<TransactionsTable>> {
    const changes: Partial<TransactionsTable> = { updated_at: now };
    if (input.deviceId !== undefined) changes.device_id = input.deviceId;
    if (input.proofingId !== undefined) changes.proofing_id = input.proofingId;
    if (rule.to.status === 'Pending')
      return { ...changes, stage: rule.to.stage, ...(input.activationCodeHash !== undefined ? { activation_code_hash: null } : {}) };
    const owner = input.userData ? (user ?? (await this.deps.users.find(trx, tx.accountId, tx.userId))) : null;
    return {
      ...changes,
      status: rule.to.status,
      stage: 'done',
      user_data_sealed: owner && input.userData ? this.deps.users.cipher(owner).sealJson(input.userData, userDataContext(tx.id)) : null,
      failure_reason: input.reason ?? (rule.to.status === 'Expired' ? 'expired' : null),
      assurance_level: input.assurance?.level ?? null,
      verification: input.assurance ? JSON.stringify(input.assurance.verification) : null,
      ended_at: now,
      activation_code_hash: null,
    };
  }

  private async record(
    trx: Tx,
    tx: Transaction,
    name: TransitionName,
    rule: TransitionRule,
    input: TransitionInput,
    meta: RequestMeta,
    now: number,
  ): Promise<void> {
    // Every <kind>.<event> of the table is in the published catalogue (test/flows/state.test.ts checks it).
    const eventName = `${tx.kind}.${rule.event}` as EventName;
    const ended = tx.status !== 'Pending';
    await this.deps.audit.append(trx, {
      accountId: tx.accountId,
      eventType: input.audit?.eventType ?? eventName,
      message: input.audit?.message ?? `${tx.kind === 'onboarding' ? 'Onboarding' : 'Step-up'}: ${rule.description}`,
      clientId: meta.clientId ?? tx.clientId,
      traceId: meta.traceId ?? null,
      ipAddress: meta.ipAddress ?? null,
      userId: tx.userId,
      referenceId: tx.id,
      data: {
        transition: name,
        provider: tx.provider,
        deviceId: tx.deviceId,
        proofingId: tx.proofingId,
        stage: tx.stage,
        ...(ended && tx.failureReason ? { reason: tx.failureReason } : {}),
        ...input.audit?.data,
      },
    });
    await this.deps.outbox.enqueue(trx, tx.accountId, eventName, transactionData(tx, now, ended ? (input.userData ?? null) : null), { userId: tx.userId });
  }
}

function applyChanges(tx: Transaction, changes: Partial<TransactionsTable>): Transaction {
  return {
    ...tx,
    ...(changes.status !== undefined ? { status: changes.status as Status } : {}),
    ...(changes.stage !== undefined ? { stage: changes.stage as Stage } : {}),
    ...(changes.device_id !== undefined ? { deviceId: changes.device_id } : {}),
    ...(changes.proofing_id !== undefined ? { proofingId: changes.proofing_id } : {}),
    ...(changes.user_data_sealed !== undefined ? { userDataSealed: changes.user_data_sealed } : {}),
    ...(changes.failure_reason !== undefined ? { failureReason: changes.failure_reason as FailureReason | null } : {}),
    ...(changes.ended_at !== undefined ? { endedAt: changes.ended_at } : {}),
    ...(changes.assurance_level !== undefined ? { assuranceLevel: changes.assurance_level as AssuranceLevel | null } : {}),
    ...(changes.verification !== undefined ? { verification: changes.verification ? (JSON.parse(changes.verification) as VerificationSummary) : null } : {}),
    updatedAt: changes.updated_at ?? tx.updatedAt,
  };
}

/**
 * Retention: deletes a transaction that ended at or before `endedBefore` (never a Pending one, which has no end time);
 * true when this call deleted it. Its dependent rows go first (retention/job.ts); the audit chain keeps its items.
 */
export async function deleteEndedTransaction(executor: Executor, transactionId: string, endedBefore: number): Promise<boolean> {
  const result = await executor
    .deleteFrom('transactions')
    .where('id', '=', transactionId)
    .where('status', '!=', 'Pending')
    .where('ended_at', '<=', endedBefore)
    .executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

const userDataContext = (transactionId: string) => `transaction:${transactionId}:userData`;

/** The table as a mermaid state diagram (docs/flows.md holds it; a test checks that it matches). */
export function stateDiagram(): string {
  const lines = ['stateDiagram-v2', `  [*] --> activation: onboarding started`, `  [*] --> authentication: step-up started`];
  for (const [name, rule] of Object.entries(TRANSITIONS) as [TransitionName, TransitionRule][]) {
    const target = rule.to.status === 'Pending' ? rule.to.stage : rule.to.status;
    for (const from of rule.from) lines.push(`  ${from} --> ${target}: ${name}`);
  }
  lines.push('  Completed --> [*]', '  Failed --> [*]', '  Expired --> [*]');
  return lines.join('\n');
}

/** The table as markdown rows (docs/flows.md holds them; a test checks that they match). */
export function transitionTable(): string {
  const header = ['| transition | kinds | from stage | to | event | when |', '|---|---|---|---|---|---|'];
  const rows = (Object.entries(TRANSITIONS) as [TransitionName, TransitionRule][]).map(([name, rule]) => {
    const target = rule.to.status === 'Pending' ? `Pending, ${rule.to.stage}` : rule.to.status;
    return `| \`${name}\` | ${rule.kinds.join(', ')} | ${rule.from.join(', ')} | ${target} | ${rule.kinds.map((kind) => `\`${kind}.${rule.event}\``).join(', ')} | ${rule.description} |`;
  });
  return [...header, ...rows].join('\n');
}
