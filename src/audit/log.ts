import { createHash } from 'node:crypto';
import { canonicalize } from 'json-canonicalize';
import { sql } from 'kysely';
import type { Executor, Store } from '../store/database.js';
import type { Clock, RandomSource } from '../shared/runtime.js';
import { isoTime } from '../shared/runtime.js';

/**
 * The tamper-evident audit log. Items are hash-chained per account: each item's hash covers its canonical JSON body
 * (RFC 8785) and the previous item's hash, so altering, inserting or deleting a row breaks the chain from there on.
 * Appending happens inside the caller's database transaction, with the account's chain head locked, so the item
 * exists exactly when the change it records does and concurrent appends cannot fork the chain.
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
  sequence: number;
}

export class AuditLog {
  constructor(private readonly deps: { clock: Clock; random: RandomSource; lockForUpdate: Store['lockForUpdate'] }) {}

  async append(executor: Executor, entry: AuditEntry): Promise<AuditItem> {
    const accountId = entry.accountId ?? SYSTEM_ACCOUNT;
    const head = await this.lockChainHead(executor, accountId);
    const now = this.deps.clock.now();
    const item: AuditItem = {
      cursor: this.deps.random.uuid(),
      accountId,
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
      sequence: head.sequence + 1,
    };
    const body = canonicalize(item);
    const hash = chainHash(head.hash, body);
    await executor
      .insertInto('audit_items')
      .values({
        cursor: item.cursor,
        account_id: accountId,
        sequence: item.sequence,
        timestamp: now,
        event_type: item.eventType,
        body,
        prev_hash: head.hash,
        hash,
        client_id: item.clientId,
        user_id: item.userId,
        reference_id: item.referenceId,
        trace_id: item.traceId,
      })
      .execute();
    await executor.updateTable('audit_chain_heads').set({ sequence: item.sequence, hash }).where('account_id', '=', accountId).execute();
    return item;
  }

  /** Reads the account's chain head, locked (PostgreSQL) until the transaction ends; creates it on first use. */
  private async lockChainHead(executor: Executor, accountId: string): Promise<{ sequence: number; hash: string }> {
    const read = () => {
      const query = executor.selectFrom('audit_chain_heads').select(['sequence', 'hash']).where('account_id', '=', accountId);
      return this.deps.lockForUpdate(query).executeTakeFirst();
    };
    const head = await read();
    if (head) return head;
    await executor
      .insertInto('audit_chain_heads')
      .values({ account_id: accountId, sequence: 0, hash: GENESIS_HASH })
      .onConflict((oc) => oc.column('account_id').doNothing())
      .execute();
    return (await read())!;
  }
}

export function chainHash(prevHash: string, canonicalBody: string): string {
  return createHash('sha256').update(prevHash).update('\n').update(canonicalBody).digest('hex');
}

export function parseAuditBody(body: string): AuditItem {
  return JSON.parse(body) as AuditItem;
}

/** Convenience for tests and verification: the number of items of an account. */
export async function countAuditItems(executor: Executor, accountId: string): Promise<number> {
  const row = await executor.selectFrom('audit_items').select(sql<number>`count(*)`.as('n')).where('account_id', '=', accountId).executeTakeFirstOrThrow();
  return Number(row.n);
}
