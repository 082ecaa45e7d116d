import type { Selectable } from 'kysely';
import type { AuditItemsTable } from '../store/schema.js';
import type { Executor } from '../store/database.js';
import { chainHash, GENESIS_HASH, parseAuditBody, type AuditItem } from './log.js';
import { AUDIT_FIELD_COLUMNS } from './tables.js';

/**
 * Verifies the audit hash chains: per account, sequences run 1, 2, 3… without gaps, every item links to its
 * predecessor's hash, every hash recomputes from its body, the indexed columns agree with the hashed body, and the
 * chain head names the last item (so a deleted tail is caught as well). Reports the first problem of each chain.
 *
 * Items not yet chained (src/audit/sequencer.ts) are not tamper-evident yet: the report counts them and gives the
 * age of the oldest. While any instance runs, that tail holds what was written in the last second or so; a tail
 * older than the bound (PENDING_BOUND_SECONDS by default) means no sequencer has run, and fails the check.
 */
export type ChainProblemKind = 'altered' | 'inserted' | 'deleted' | 'unlinked';

export interface ChainProblem {
  kind: ChainProblemKind;
  sequence: number;
  /** The item concerned; null when it is missing. */
  cursor: string | null;
  detail: string;
}

/** What the chain head record says: the last item's sequence and hash. Kept elsewhere, it anchors the chain against a rewrite. */
export interface ChainHead {
  sequence: number;
  hash: string;
}

export interface ChainReport {
  accountId: string;
  items: number;
  ok: boolean;
  problem: ChainProblem | null;
  /** Null when the account has no head record. */
  head: ChainHead | null;
}

/** The items written but not chained yet (of the account checked, or of all). */
export interface PendingTail {
  items: number;
  /** Age of the oldest, in whole seconds; null when there is none. */
  oldestAgeSeconds: number | null;
  boundSeconds: number;
  withinBound: boolean;
}

export interface VerifyReport {
  ok: boolean;
  accounts: ChainReport[];
  pending: PendingTail;
}

/**
 * The documented bound on the pending tail's age. A live sequencer chains within about a second of a commit
 * (SEQUENCE_INTERVAL_MS, and CANDIDATE_INTERVAL_MS to take over from a dead holder; up to about 25 s when the
 * holder's host vanished without closing its connection); a minute leaves room for a database failover.
 */
export const PENDING_BOUND_SECONDS = 60;

type Row = Selectable<AuditItemsTable>;
const PAGE_SIZE = 1000;

export async function verifyAuditChains(db: Executor, options: { accountId?: string; now?: number; pendingBoundSeconds?: number } = {}): Promise<VerifyReport> {
  const accountIds = options.accountId ? [options.accountId] : await chainAccounts(db);
  const accounts: ChainReport[] = [];
  for (const accountId of accountIds) accounts.push(await verifyChain(db, accountId));
  const pending = await pendingTail(db, options.accountId, options.now ?? Date.now(), options.pendingBoundSeconds ?? PENDING_BOUND_SECONDS);
  return { ok: accounts.every((a) => a.ok) && pending.withinBound, accounts, pending };
}

async function pendingTail(db: Executor, accountId: string | undefined, now: number, boundSeconds: number): Promise<PendingTail> {
  let query = db.selectFrom('audit_pending').select((eb) => [eb.fn.countAll<number>().as('items'), eb.fn.min('timestamp').as('oldest')]);
  if (accountId) query = query.where('account_id', '=', accountId);
  const row = await query.executeTakeFirstOrThrow();
  const oldest = row.oldest === null ? null : Number(row.oldest);
  const oldestAgeSeconds = oldest === null ? null : Math.max(0, Math.floor((now - oldest) / 1000));
  return { items: Number(row.items), oldestAgeSeconds, boundSeconds, withinBound: oldestAgeSeconds === null || oldestAgeSeconds <= boundSeconds };
}

async function chainAccounts(db: Executor): Promise<string[]> {
  const heads = await db.selectFrom('audit_chain_heads').select('account_id').execute();
  const items = await db.selectFrom('audit_items').select('account_id').distinct().execute();
  return [...new Set([...heads, ...items].map((r) => r.account_id))].sort();
}

/** Walking state: what the next item must link to, and enough history to recognise an inserted item. */
interface Walk {
  expected: number;
  prevHash: string;
  beforePrevHash: string | null;
  previous: Row | null;
}

export async function verifyChain(db: Executor, accountId: string): Promise<ChainReport> {
  const head = await db.selectFrom('audit_chain_heads').select(['sequence', 'hash']).where('account_id', '=', accountId).executeTakeFirst();
  const walk: Walk = { expected: 1, prevHash: GENESIS_HASH, beforePrevHash: null, previous: null };
  const result = (problem: ChainProblem | null): ChainReport => ({
    accountId,
    items: walk.expected - 1,
    ok: problem === null,
    problem,
    head: head ? { sequence: Number(head.sequence), hash: head.hash } : null,
  });
  for await (const row of itemsInOrder(db, accountId)) {
    const problem = beyondHead(row, head) ?? checkItem(row, walk);
    if (problem) return result(problem);
    walk.beforePrevHash = walk.prevHash;
    walk.prevHash = row.hash;
    walk.previous = row;
    walk.expected++;
  }
  return result(checkHead(walk, head));
}

async function* itemsInOrder(db: Executor, accountId: string): AsyncGenerator<Row> {
  let after = 0;
  for (;;) {
    const page = await db
      .selectFrom('audit_items')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('sequence', '>', after)
      .orderBy('sequence')
      .limit(PAGE_SIZE)
      .execute();
    yield* page;
    const last = page.at(-1);
    if (!last || page.length < PAGE_SIZE) return;
    after = Number(last.sequence);
  }
}

function beyondHead(row: Row, head: { sequence: number } | undefined): ChainProblem | null {
  if (!head) return { kind: 'deleted', sequence: 0, cursor: null, detail: 'the chain head record is missing' };
  if (Number(row.sequence) <= Number(head.sequence)) return null;
  return { kind: 'inserted', sequence: Number(row.sequence), cursor: row.cursor, detail: `item ${row.sequence} lies beyond the chain head (${head.sequence})` };
}

function checkItem(row: Row, walk: Walk): ChainProblem | null {
  const sequence = Number(row.sequence);
  if (sequence !== walk.expected) {
    return {
      kind: 'deleted',
      sequence: walk.expected,
      cursor: null,
      detail: `items ${walk.expected}–${sequence - 1} are missing before item ${sequence} (${row.cursor})`,
    };
  }
  if (chainHash(row.prev_hash, row.body) !== row.hash)
    return { kind: 'altered', sequence, cursor: row.cursor, detail: 'the stored hash does not match the item body' };
  const mismatch = columnMismatch(row);
  if (mismatch) return { kind: 'altered', sequence, cursor: row.cursor, detail: `the ${mismatch} column differs from the hashed body` };
  if (row.prev_hash === walk.prevHash) return null;
  if (walk.previous && row.prev_hash === walk.beforePrevHash) {
    return {
      kind: 'inserted',
      sequence: sequence - 1,
      cursor: walk.previous.cursor,
      detail: `item ${sequence - 1} is not part of the chain: item ${sequence} links past it`,
    };
  }
  return {
    kind: 'unlinked',
    sequence,
    cursor: row.cursor,
    detail: `item ${sequence} does not link to item ${sequence - 1}: an item between them was deleted, or item ${sequence - 1} was altered and re-hashed`,
  };
}

/** The columns queries filter on must say what the hashed body says, or a query could be steered past the hash. */
function columnMismatch(row: Row): string | null {
  let body: AuditItem;
  try {
    body = parseAuditBody(row.body);
  } catch {
    return 'body';
  }
  if (body.cursor !== row.cursor) return 'cursor';
  if (body.accountId !== row.account_id) return 'account_id';
  if (body.sequence !== Number(row.sequence)) return 'sequence';
  if (Date.parse(body.timestamp) !== Number(row.timestamp)) return 'timestamp';
  for (const [field, column] of Object.entries(AUDIT_FIELD_COLUMNS)) {
    if ((body[field as keyof typeof body] ?? null) !== row[column]) return column;
  }
  return null;
}

function checkHead(walk: Walk, head: { sequence: number; hash: string } | undefined): ChainProblem | null {
  const count = walk.expected - 1;
  if (!head) return count === 0 ? null : { kind: 'deleted', sequence: 0, cursor: null, detail: 'the chain head record is missing' };
  const headSequence = Number(head.sequence);
  if (headSequence > count) {
    return { kind: 'deleted', sequence: count + 1, cursor: null, detail: `items ${count + 1}–${headSequence} were deleted from the end of the chain` };
  }
  if (head.hash !== walk.prevHash) {
    return { kind: 'altered', sequence: count, cursor: walk.previous?.cursor ?? null, detail: 'the chain head does not match the last item' };
  }
  return null;
}
