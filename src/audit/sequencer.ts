import { canonicalize } from 'json-canonicalize';
import type { Insertable } from 'kysely';
import type { AuditItemsTable } from '../store/schema.js';
import { isUniqueViolation, type Election, type Executor, type Store, type Tx } from '../store/database.js';
import type { Clock } from '../shared/runtime.js';
import { chainHash, GENESIS_HASH, type AppendedAuditItem, type AuditItem } from './log.js';

/**
 * The audit sequencer: moves the items that business transactions appended to `audit_pending` into the per-account
 * hash chains of `audit_items`, in batches, one database transaction per batch (a pending row leaves only in the
 * transaction that chains it, so a process dying at any point loses nothing: the next pass finds the row again).
 *
 * Which rows, in which order. PostgreSQL hands out `audit_pending.id` at insert but shows the row only at commit,
 * so a row with a lower id can appear after a higher one has been chained. A sequencer that remembered "chained up
 * to id X" would skip such a late row for ever. This one remembers nothing: each pass reads every pending row it
 * can see, lowest id first, and the chain heads say where each chain goes on. A late row is chained by the next
 * pass, after the items already chained. The order this gives, per account: the items of one transaction in the
 * order it wrote them, and an item after every item whose transaction had committed before its own began (those
 * are visible to any snapshot that sees it); items of transactions that overlapped are chained in the order they
 * became visible. Each item keeps its own `timestamp` (when it was written); its `sequence` is when it was chained.
 * (A safety lag, or xmin snapshot checks, would make the chain follow ids more closely but could still not follow
 * clocks across instances, and would add latency; no order is lost that causality gives.)
 *
 * One sequencer at a time: the instances elect one (Store.election, an advisory lock on PostgreSQL), and whoever
 * takes over after a crash simply continues from the chain heads. The chain never rests on that lock alone: a
 * batch advances each head only from the head it read (compare-and-set), inserts items whose cursor and
 * (account, sequence) are unique, and deletes exactly the pending rows it read, so two passes that overlap (a
 * holder cut off while another takes over, or `sequenceNow` beside the running sequencer) make one fail and retry,
 * never a fork.
 */
export const SEQUENCE_INTERVAL_MS = 250;
/**
 * How soon the sequencer comes back after a pass that chained something: while items keep arriving, passes are
 * frequent and short. On SQLite a pass holds the one connection, and a pass of a quarter second's items (500 at
 * 2,000 Starts a second) made the requests queued behind it wait: Start onboarding's p99 on SQLite under load was
 * 34–46 ms, 18–22 ms with this (same throughput; no difference measured on PostgreSQL).
 */
const BUSY_INTERVAL_MS = 50;
/** How often an instance that does not hold the role tries to take it: the takeover time after a holder dies. */
export const CANDIDATE_INTERVAL_MS = 1000;
const BATCH_SIZE = 500;
/** Rows per INSERT: 12 parameters each, far below either database's limit on bound parameters. */
const INSERT_CHUNK = 100;
const ROLE = 'audit-sequencer';
const CONFLICT_RETRIES = 5;

/** Another pass chained some of the same items first: this batch rolls back, and the next pass reads afresh. */
export class SequencerConflict extends Error {}

type Pending = { id: number; account_id: string; timestamp: number; body: string };
type Head = { sequence: number; hash: string };
type Logger = { error: (obj: unknown, msg: string) => void };

export class AuditSequencer {
  constructor(private readonly deps: { store: Pick<Store, 'db' | 'write' | 'election'>; clock: Clock }) {}

  /**
   * Chains everything pending now, from this process, and returns how many items it chained. Tests and CLI commands
   * call it for a chain that is complete when they read it; it is safe beside the running sequencer (see above).
   */
  async sequenceNow(): Promise<number> {
    let chained = 0;
    for (let conflicts = 0; ; ) {
      // An idle pass costs one read, not a transaction.
      if (!(await pendingProbe(this.deps.store.db).executeTakeFirst())) return chained;
      try {
        const batch = await this.deps.store.write((trx) => chainBatch(trx));
        chained += batch;
        if (batch < BATCH_SIZE) return chained;
      } catch (error) {
        if (!(error instanceof SequencerConflict) && !isUniqueViolation(error)) throw error;
        if (++conflicts > CONFLICT_RETRIES) throw error;
      }
    }
  }

  /** Runs for election, and chains every SEQUENCE_INTERVAL_MS (BUSY_INTERVAL_MS while items arrive) while elected, until stopped. */
  start(log: Logger): () => Promise<void> {
    const election = this.deps.store.election(ROLE);
    let stopped = false;
    let running: Promise<void> = Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const failures = new FailureLog(log, this.deps.clock);
    const run = () => {
      running = this.tick(election).then(
        (delay) => {
          failures.recovered();
          schedule(delay);
        },
        (error: unknown) => {
          failures.failed(error);
          schedule(CANDIDATE_INTERVAL_MS);
        },
      );
    };
    const schedule = (delayMs: number) => {
      if (stopped) return;
      timer = setTimeout(run, delayMs);
      timer.unref();
    };
    schedule(0);
    return async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
      await election.close();
    };
  }

  private async tick(election: Election): Promise<number> {
    if (!(await election.lead())) return CANDIDATE_INTERVAL_MS;
    return (await this.sequenceNow()) > 0 ? BUSY_INTERVAL_MS : SEQUENCE_INTERVAL_MS;
  }
}

/**
 * Whether anything is pending, read in the primary key's order so that PostgreSQL walks the index rather than the
 * heap. Every chained item leaves a dead row in `audit_pending` until VACUUM; without the order the planner chose a
 * sequential scan that read all of them on every pass: with 141,000 dead rows (autovacuum off, after a few token
 * benches) 69 ms and 8,865 buffers a pass, up to 20 passes a second, so PostgreSQL's CPU went to the probe rather than
 * to the writes. The index's entries are a twentieth of the rows' size, and the first scan marks those of dead rows so
 * that later ones skip them without visiting the heap. Exported for its test.
 */
export function pendingProbe(executor: Executor) {
  return executor.selectFrom('audit_pending').select('id').orderBy('id').limit(1);
}

/** One batch: the oldest pending rows, chained per account onto each chain's head, in one transaction. */
async function chainBatch(trx: Tx): Promise<number> {
  const pending = await trx.selectFrom('audit_pending').select(['id', 'account_id', 'timestamp', 'body']).orderBy('id').limit(BATCH_SIZE).execute();
  if (pending.length === 0) return 0;
  const byAccount = new Map<string, Pending[]>();
  for (const row of pending) {
    const items = byAccount.get(row.account_id);
    if (items) items.push(row);
    else byAccount.set(row.account_id, [row]);
  }
  const heads = await readHeads(trx, [...byAccount.keys()]);
  const rows: Insertable<AuditItemsTable>[] = [];
  for (const [accountId, items] of byAccount) {
    const from = heads.get(accountId);
    let head = from ?? { sequence: 0, hash: GENESIS_HASH };
    for (const item of items) {
      const row = chainedRow(item, head);
      rows.push(row);
      head = { sequence: row.sequence, hash: row.hash };
    }
    await advanceHead(trx, accountId, from, head);
  }
  for (let i = 0; i < rows.length; i += INSERT_CHUNK)
    await trx
      .insertInto('audit_items')
      .values(rows.slice(i, i + INSERT_CHUNK))
      .execute();
  await removePending(
    trx,
    pending.map((p) => p.id),
  );
  return pending.length;
}

async function readHeads(trx: Tx, accountIds: string[]): Promise<Map<string, Head>> {
  const rows = await trx.selectFrom('audit_chain_heads').select(['account_id', 'sequence', 'hash']).where('account_id', 'in', accountIds).execute();
  return new Map(rows.map((r) => [r.account_id, { sequence: Number(r.sequence), hash: r.hash }]));
}

function chainedRow(pending: Pending, head: Head): Insertable<AuditItemsTable> & { sequence: number; hash: string } {
  const item: AuditItem = { ...(JSON.parse(pending.body) as AppendedAuditItem), sequence: head.sequence + 1 };
  const body = canonicalize(item);
  return {
    cursor: item.cursor,
    account_id: pending.account_id,
    sequence: item.sequence,
    timestamp: pending.timestamp,
    event_type: item.eventType,
    body,
    prev_hash: head.hash,
    hash: chainHash(head.hash, body),
    client_id: item.clientId,
    user_id: item.userId,
    reference_id: item.referenceId,
    trace_id: item.traceId,
  };
}

/** Compare-and-set: the head moves only from where this batch read it; a new chain's head is created (unique). */
async function advanceHead(trx: Tx, accountId: string, from: Head | undefined, to: Head): Promise<void> {
  if (!from) {
    await trx.insertInto('audit_chain_heads').values({ account_id: accountId, sequence: to.sequence, hash: to.hash }).execute();
    return;
  }
  const result = await trx
    .updateTable('audit_chain_heads')
    .set({ sequence: to.sequence, hash: to.hash })
    .where('account_id', '=', accountId)
    .where('sequence', '=', from.sequence)
    .where('hash', '=', from.hash)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) throw new SequencerConflict(`the chain head of ${accountId} moved during the batch`);
}

/** A batch holds at most BATCH_SIZE ids, so one statement deletes them all. */
async function removePending(trx: Tx, ids: number[]): Promise<void> {
  const result = await trx.deleteFrom('audit_pending').where('id', 'in', ids).executeTakeFirst();
  if (Number(result.numDeletedRows) !== ids.length) throw new SequencerConflict('pending items were chained by another pass');
}

/** While the database is down every tick fails: the first failure is logged, then once a minute. */
class FailureLog {
  private since: number | null = null;
  private lastLogged = 0;

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock,
  ) {}

  failed(err: unknown): void {
    const now = this.clock.now();
    this.since ??= now;
    if (now - this.lastLogged < 60_000) return;
    this.lastLogged = now;
    this.log.error({ err, failingForMs: now - this.since }, 'audit sequencer pass failed; pending items stay pending and are chained on recovery');
  }

  recovered(): void {
    this.since = null;
    this.lastLogged = 0;
  }
}
