import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Executor, Insert, Store } from '../store/database.js';
import type { Clock, RandomSource } from '../shared/runtime.js';
import { isoTime } from '../shared/runtime.js';
import { namedStatement } from '../store/prepared.js';
import { rowInsert } from '../store/row-insert.js';

/**
 * The tamper-evident audit log, built as transparency logs are: items are written first and chained shortly after.
 *
 * - `append` runs inside the caller's database transaction and only inserts the item into `audit_pending`: it takes
 *   no lock, so the audited writes of one account no longer queue behind one chain-head row, and the item exists
 *   exactly when the change it records does (a rolled-back transaction leaves none).
 * - One sequencer among all instances (src/audit/sequencer.ts, elected by an advisory lock on PostgreSQL) moves
 *   pending items into `audit_items`, hash-chained per account: each item's hash covers its canonical JSON body
 *   (RFC 8785, `sequence` included) and the previous item's hash, so altering, inserting or deleting a chained row
 *   breaks the chain from there on. An item is chained within about a quarter of a second of its commit (50 ms
 *   while items keep arriving) while any instance runs; `audit verify` reports what is still pending, and how old.
 *
 * This module writes `audit_pending`; the sequencer alone writes `audit_items` and `audit_chain_heads`.
 */

/** Items that belong to no account (for example a token request naming an unknown client). */
export const SYSTEM_ACCOUNT = '_system';
export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEntry {
  accountId: string | null;
  eventType: string;
  message: string;
  clientId?: string | null;
  traceId?: string | null;
  ipAddress?: string | null;
  userId?: string | null;
  referenceId?: string | null;
  /** Only what an auditor needs: identifiers and outcomes, never personal data or secrets. */
  data?: Record<string, unknown>;
}

export interface AuditItem {
  cursor: string;
  accountId: string;
  timestamp: string;
  serviceName: 'reuseid';
  eventType: string;
  message: string;
  clientId: string | null;
  traceId: string | null;
  ipAddress: string | null;
  userId: string | null;
  referenceId: string | null;
  data: Record<string, unknown>;
  /** Position in the account's chain, given by the sequencer. */
  sequence: number;
}

/** An item as appended: its place in the chain is given later, by the sequencer. */
export type AppendedAuditItem = Omit<AuditItem, 'sequence'>;

/** Items in one batched insert at most (PostgreSQL takes up to 65,535 parameters; three per row). */
const MAX_BATCH = 500;

type Queued = { row: PendingRow; item: AppendedAuditItem; resolve: (item: AppendedAuditItem) => void; reject: (error: unknown) => void };
type PendingRow = { account_id: string; timestamp: number; body: string };

export class AuditLog {
  private queue: Queued[] = [];
  private flushing = false;

  constructor(private readonly deps: { clock: Clock; random: RandomSource }) {}

  async append(executor: Executor, entry: AuditEntry): Promise<AppendedAuditItem> {
    const { item, insert } = this.newItem(executor, entry);
    await executor.executeQuery(namedStatement(insert));
    return item;
  }

  /** An item and the insert that appends it, for a unit of work that runs its inserts together (Store.insertTogether). */
  newItem(executor: Executor, entry: AuditEntry): { item: AppendedAuditItem; insert: Insert } {
    const { item, row } = this.prepare(entry);
    return { item, insert: rowInsert(executor, 'audit_pending', row) };
  }

  /**
   * Appends an item that records no other write (an access token handed out), committed on its own: items that
   * arrive together share one multi-row insert and one commit, on PostgreSQL as on SQLite, instead of a transaction
   * and a flush to disk each. Resolves once the item is committed, so the caller acts only on an audited fact.
   */
  appendCommitted(store: Pick<Store, 'autocommit'>, entry: AuditEntry): Promise<AppendedAuditItem> {
    const { item, row } = this.prepare(entry);
    return new Promise((resolve, reject) => {
      this.queue.push({ row, item, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush(store));
      }
    });
  }

  /** One batch at a time: what arrives while one commits forms the next. */
  private async flush(store: Pick<Store, 'autocommit'>): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      try {
        await store.autocommit((executor) =>
          executor
            .insertInto('audit_pending')
            .values(batch.map((queued) => queued.row))
            .execute(),
        );
        for (const queued of batch) queued.resolve(queued.item);
      } catch (error) {
        for (const queued of batch) queued.reject(error);
      }
    }
    this.flushing = false;
  }

  private prepare(entry: AuditEntry): { item: AppendedAuditItem; row: PendingRow } {
    const now = this.deps.clock.now();
    const item: AppendedAuditItem = {
      cursor: this.deps.random.uuid(),
      accountId: entry.accountId ?? SYSTEM_ACCOUNT,
      timestamp: isoTime(now),
      serviceName: 'reuseid',
      eventType: entry.eventType,
      message: entry.message,
      clientId: entry.clientId ?? null,
      traceId: entry.traceId ?? null,
      ipAddress: entry.ipAddress ?? null,
      userId: entry.userId ?? null,
      referenceId: entry.referenceId ?? null,
      data: entry.data ?? {},
    };
    return { item, row: { account_id: item.accountId, timestamp: now, body: JSON.stringify(item) } };
  }
}

export function chainHash(prevHash: string, canonicalBody: string): string {
  return createHash('sha256').update(prevHash).update('\n').update(canonicalBody).digest('hex');
}

export function parseAuditBody(body: string): AuditItem {
  return JSON.parse(body) as AuditItem;
}

/** Convenience for tests and verification: the number of chained items of an account. */
export async function countAuditItems(executor: Executor, accountId: string): Promise<number> {
  const row = await executor.selectFrom('audit_items').select(sql<number>`count(*)`.as('n')).where('account_id', '=', accountId).executeTakeFirstOrThrow();
  return Number(row.n);
}
