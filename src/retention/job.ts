import type { AuditEntry, AuditLog } from '../audit/log.js';
import type { Config } from '../config.js';
import type { CredentialOffers } from '../credentials/offers.js';
import type { CredentialRegistry } from '../credentials/registry.js';
import { deleteTransactionOperations } from '../devices/operations.js';
import { deleteTransactionEvidence, endedWithEvidence } from '../dossier/evidence.js';
import { deleteEndedDeliveries } from '../events/deliveries.js';
import { deleteEndedTransaction } from '../flows/state.js';
import { claimEnded, findEndedBefore, type Transaction } from '../flows/transaction.js';
import { deleteTransactionProofings } from '../proofing/service.js';
import { isoTime, type Clock } from '../shared/runtime.js';
import type { Store, Tx } from '../store/database.js';
import { DAY_MS, type RetentionPolicies, type RetentionPolicy } from './policy.js';

/**
 * The retention job (README "Retention"). For each account, with its policy: ended transactions past their period
 * are deleted with what belongs to them (evidence, proofings, device operations; never the user, their attributes or
 * reference face, which live until erasure, and never audit items); then the evidence of the ended transactions past
 * the evidence period; then the delivery logs past theirs.
 *
 * Every instance runs it. Each deletion is one small database transaction that first claims its transaction row
 * (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has one writer), and the row count of the delete decides whether
 * this instance audits it, so each item is deleted and audited exactly once however many jobs run. Nothing here
 * opens a sealed value: an erased user's transactions and evidence are deleted like anyone else's.
 */
export interface RetentionDeps {
  store: Pick<Store, 'db' | 'write' | 'claimForUpdate'>;
  clock: Clock;
  audit: Pick<AuditLog, 'append'>;
  policies: Pick<RetentionPolicies, 'all'>;
  credentialOffers: Pick<CredentialOffers, 'deleteExpired'>;
  credentialRegistry: Pick<CredentialRegistry, 'deleteExpired'>;
}

export interface RetentionReport {
  /** Transactions deleted, and evidence items deleted on their own. */
  transactions: number;
  evidence: number;
  deliveries: number;
  /** Expired credential offers and expired credentials' records. */
  credentials: number;
}

export interface RetentionOptions {
  batchSize?: number;
  /** Batches per account and kind in one run, so one run ends even with a large backlog; the next run goes on. */
  maxBatches?: number;
  /** Checked between deletions: a stopping server ends the run early instead of waiting for it. */
  stopped?: () => boolean;
}

type Limits = Required<RetentionOptions>;

export async function applyRetention(deps: RetentionDeps, options: RetentionOptions = {}): Promise<RetentionReport> {
  const limits: Limits = { batchSize: 100, maxBatches: 50, stopped: () => false, ...options };
  const now = deps.clock.now();
  const report: RetentionReport = { transactions: 0, evidence: 0, deliveries: 0, credentials: 0 };
  for (const policy of await deps.policies.all(deps.store.db)) {
    if (limits.stopped()) break;
    report.transactions += await deleteTransactions(deps, policy, now - policy.transactionsDays * DAY_MS, limits);
    report.evidence += await deleteEvidence(deps, policy, now - policy.evidenceDays * DAY_MS, limits);
    report.deliveries += await deleteDeliveries(deps, policy, now - policy.deliveriesDays * DAY_MS, limits);
    report.credentials += await deleteExpiredCredentials(deps, policy.accountId, now, limits);
  }
  return report;
}

async function deleteTransactions(deps: RetentionDeps, policy: RetentionPolicy, endedBefore: number, limits: Limits): Promise<number> {
  const find = () => findEndedBefore(deps.store.db, policy.accountId, endedBefore, limits.batchSize);
  return inBatches(find, limits, (id) =>
    claimed(deps, id, endedBefore, async (trx, tx) => {
      const evidenceCount = await deleteTransactionEvidence(trx, tx.id);
      await deleteTransactionProofings(trx, tx.id);
      await deleteTransactionOperations(trx, tx.id);
      // Claimed above and not Pending (it has an end time): this instance deletes it.
      await deleteEndedTransaction(trx, tx.id, endedBefore);
      const data = { transactionId: tx.id, kind: tx.kind, status: tx.status, evidenceCount, transactionsDays: policy.transactionsDays };
      await deps.audit.append(trx, retentionAudit(tx, 'retention.transaction_deleted', 'Ended transaction deleted: retention period over', data));
      return 1;
    }),
  );
}

async function deleteEvidence(deps: RetentionDeps, policy: RetentionPolicy, endedBefore: number, limits: Limits): Promise<number> {
  const find = () => endedWithEvidence(deps.store.db, policy.accountId, endedBefore, limits.batchSize);
  return inBatches(find, limits, (id) =>
    claimed(deps, id, endedBefore, async (trx, tx) => {
      const evidenceCount = await deleteTransactionEvidence(trx, tx.id);
      // Zero: another instance deleted it a moment ago, and audited it.
      if (evidenceCount === 0) return 0;
      const data = { transactionId: tx.id, evidenceCount, evidenceDays: policy.evidenceDays };
      await deps.audit.append(trx, retentionAudit(tx, 'retention.evidence_deleted', 'Evidence deleted: retention period over', data));
      return evidenceCount;
    }),
  );
}

/** Delivery logs are not personal data beyond their event's (erased with it): one audit item per batch. */
async function deleteDeliveries(deps: RetentionDeps, policy: RetentionPolicy, endedBefore: number, limits: Limits): Promise<number> {
  let deleted = 0;
  for (let batch = 0; batch < limits.maxBatches && !limits.stopped(); batch++) {
    const count = await deps.store.write(async (trx) => {
      const where = { accountId: policy.accountId, endedBefore, limit: limits.batchSize };
      const n = await deleteEndedDeliveries(deps.store, trx, where);
      if (n > 0) {
        const data = { count: n, endedBefore: isoTime(endedBefore), deliveriesDays: policy.deliveriesDays };
        await deps.audit.append(trx, {
          accountId: policy.accountId,
          eventType: 'retention.deliveries_deleted',
          message: 'Webhook delivery logs deleted: retention period over',
          data,
        });
      }
      return n;
    });
    deleted += count;
    if (count < limits.batchSize) break;
  }
  return deleted;
}

/** An offer is spent or dead a day after it expires; an expired credential's record is kept 30 days, then goes. */
const OFFER_KEPT_MS = DAY_MS;
const EXPIRED_CREDENTIAL_KEPT_MS = 30 * DAY_MS;

/** Expired offers and credential records (no claim values: ids, hashes, status slots, dates): one audit item per batch. */
async function deleteExpiredCredentials(deps: RetentionDeps, accountId: string, now: number, limits: Limits): Promise<number> {
  let deleted = 0;
  for (let batch = 0; batch < limits.maxBatches && !limits.stopped(); batch++) {
    const { offers, credentials } = await deps.store.write(async (trx) => {
      const offers = await deps.credentialOffers.deleteExpired(trx, { accountId, expiredBefore: now - OFFER_KEPT_MS, limit: limits.batchSize });
      const credentials = await deps.credentialRegistry.deleteExpired(trx, {
        accountId,
        expiredBefore: now - EXPIRED_CREDENTIAL_KEPT_MS,
        limit: limits.batchSize,
      });
      if (offers + credentials > 0) {
        await deps.audit.append(trx, {
          accountId,
          eventType: 'retention.credentials_deleted',
          message: 'Expired credential offers and credential records deleted',
          data: { offers, credentials },
        });
      }
      return { offers, credentials };
    });
    deleted += offers + credentials;
    if (offers < limits.batchSize && credentials < limits.batchSize) break;
  }
  return deleted;
}

/** Runs `work` on the transaction once claimed, in one database transaction; 0 when it is gone or another job has it. */
function claimed(deps: RetentionDeps, id: string, endedBefore: number, work: (trx: Tx, tx: Transaction) => Promise<number>): Promise<number> {
  return deps.store.write(async (trx) => {
    const tx = await claimEnded(deps.store, trx, id, endedBefore);
    return tx ? work(trx, tx) : 0;
  });
}

/**
 * Fetches batches and handles each item, until a batch is short, a batch made no progress (every item is another
 * instance's at this moment: it will delete them), the batch budget is spent, or the job is stopping.
 */
async function inBatches(fetch: () => Promise<{ id: string }[]>, limits: Limits, handle: (id: string) => Promise<number>): Promise<number> {
  let total = 0;
  for (let batch = 0; batch < limits.maxBatches; batch++) {
    const items = await fetch();
    let progress = 0;
    for (const item of items) {
      if (limits.stopped()) return total + progress;
      progress += await handle(item.id);
    }
    total += progress;
    if (items.length < limits.batchSize || progress === 0) break;
  }
  return total;
}

/** Identifiers and counts only: the audit chain outlives what it records, and must hold no personal data. */
function retentionAudit(tx: Transaction, eventType: string, message: string, data: Record<string, unknown>): AuditEntry {
  return { accountId: tx.accountId, eventType, message, userId: tx.userId, referenceId: tx.id, data: { ...data, endedAt: isoTime(tx.endedAt ?? 0) } };
}

/** Runs the job now and then on an interval until stopped; a run never overlaps the previous one; failures are logged. */
export function startRetention(
  deps: RetentionDeps & { config: Pick<Config, 'retention'> },
  log: { error: (obj: unknown, msg: string) => void; info: (obj: unknown, msg: string) => void },
): () => Promise<void> {
  let stopping = false;
  let running: Promise<unknown> | null = null;
  const run = () => {
    if (running) return;
    running = applyRetention(deps, { stopped: () => stopping })
      .then((report) => {
        if (report.transactions + report.evidence + report.deliveries > 0) log.info({ retention: report }, 'retention applied');
      })
      .catch((err: unknown) => log.error({ err }, 'retention failed'))
      .finally(() => {
        running = null;
      });
  };
  run();
  const timer = setInterval(run, deps.config.retention.intervalSeconds * 1000);
  timer.unref();
  return async () => {
    stopping = true;
    clearInterval(timer);
    await running;
  };
}
