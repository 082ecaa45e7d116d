import type { DataCipher } from '../security/keyring.js';
import type { Clock } from '../shared/runtime.js';
import type { Executor } from '../store/database.js';

/**
 * Chunked evidence: a large item (a capture's video) sealed as a sequence of chunks of CHUNK_BYTES plaintext each, so
 * that neither its upload nor its readers hold it whole. Each chunk is sealed with the user's data key under a
 * context naming the evidence id, the chunk's index and whether it is the last one: chunks cannot be reordered,
 * dropped from the end, or moved to another item without opening failing.
 *
 * An upload stages its chunks (`evidence_id` null) while the body streams in; the evidence row adopts them in the
 * business transaction (`adoptChunks`). Staged chunks of a failed request are discarded by it, those a crash left
 * behind by the sweeper (`purgeStagedChunks`). Only EvidenceStore and this module touch the table.
 */
export const CHUNK_BYTES = 1024 * 1024;
/** Staged chunks no request has adopted after this long are a crash's leftovers. */
export const STAGED_CHUNK_TTL_MS = 60 * 60 * 1000;

export const chunkContext = (evidenceId: string, idx: number, last: boolean) => `evidence:${evidenceId}:chunk:${idx}:${last ? 'last' : 'more'}`;

/** What an upload staged: the id its evidence row must take, its plaintext size and chunk count. */
export interface StagedContent {
  evidenceId: string;
  size: number;
  chunkCount: number;
}

/**
 * Writes one item's plaintext as sealed, staged chunks, in order, holding at most one chunk. A full chunk is sealed
 * only when more bytes arrive (or at finish), so that the last one can be marked as such.
 */
export class ChunkWriter {
  private readonly chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  private filled = 0;
  private written = 0;
  private size = 0;
  private closed = false;

  constructor(
    private readonly deps: { db: Executor; clock: Clock },
    private readonly cipher: DataCipher,
    readonly evidenceId: string,
  ) {}

  async write(bytes: Buffer): Promise<void> {
    if (this.closed) throw new Error('ChunkWriter used after finish or discard');
    this.size += bytes.length;
    let offset = 0;
    while (offset < bytes.length) {
      if (this.filled === CHUNK_BYTES) await this.flush(false);
      const copied = bytes.copy(this.chunk, this.filled, offset);
      this.filled += copied;
      offset += copied;
    }
  }

  /** Seals the last chunk; the content is then staged whole, waiting for its evidence row. */
  async finish(): Promise<StagedContent> {
    await this.flush(true);
    this.closed = true;
    return { evidenceId: this.evidenceId, size: this.size, chunkCount: this.written };
  }

  /** Deletes whatever was staged (never an adopted chunk); safe to call at any time, and more than once. */
  async discard(): Promise<void> {
    this.closed = true;
    await discardStagedChunks(this.deps.db, this.evidenceId);
  }

  private async flush(last: boolean): Promise<void> {
    const sealed = this.cipher.seal(this.chunk.subarray(0, this.filled), chunkContext(this.evidenceId, this.written, last));
    await this.deps.db
      .insertInto('evidence_chunks')
      .values({ upload_id: this.evidenceId, idx: this.written, evidence_id: null, content_sealed: sealed, staged_at: this.deps.clock.now() })
      .execute();
    this.written++;
    this.filled = 0;
  }
}

/** Attaches staged chunks to their (just inserted) evidence row; fails when any of them is missing. */
export async function adoptChunks(executor: Executor, staged: StagedContent): Promise<void> {
  const adopted = await executor
    .updateTable('evidence_chunks')
    .set({ evidence_id: staged.evidenceId })
    .where('upload_id', '=', staged.evidenceId)
    .where('evidence_id', 'is', null)
    .executeTakeFirst();
  if (Number(adopted.numUpdatedRows) !== staged.chunkCount) throw new Error('staged evidence chunks are missing');
}

export async function discardStagedChunks(executor: Executor, uploadId: string): Promise<void> {
  await executor.deleteFrom('evidence_chunks').where('upload_id', '=', uploadId).where('evidence_id', 'is', null).execute();
}

/** Deletes chunks staged before `before` that no evidence row adopted: left by a process that stopped mid-request. */
export async function purgeStagedChunks(executor: Executor, before: number): Promise<void> {
  await executor.deleteFrom('evidence_chunks').where('evidence_id', 'is', null).where('staged_at', '<', before).execute();
}

/**
 * Opens an adopted item's chunks one at a time, in order, checking that there are exactly `chunkCount` of them and
 * that together they hold `size` bytes. A reader holds one chunk at a time.
 */
export async function* openChunks(executor: Executor, cipher: DataCipher, item: { id: string; chunkCount: number; size: number }): AsyncGenerator<Buffer> {
  let total = 0;
  for (let idx = 0; idx < item.chunkCount; idx++) {
    const row = await executor
      .selectFrom('evidence_chunks')
      .select('content_sealed')
      .where('upload_id', '=', item.id)
      .where('idx', '=', idx)
      .where('evidence_id', '=', item.id)
      .executeTakeFirst();
    if (!row) throw new Error(`evidence ${item.id} is missing chunk ${idx}`);
    const plaintext = cipher.open(row.content_sealed, chunkContext(item.id, idx, idx === item.chunkCount - 1));
    total += plaintext.length;
    yield plaintext;
  }
  if (total !== item.size) throw new Error(`evidence ${item.id} holds ${total} bytes, not ${item.size}`);
}

/** The whole content of a chunked item (bounded by what its upload allowed). */
export async function readChunks(executor: Executor, cipher: DataCipher, item: { id: string; chunkCount: number; size: number }): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of openChunks(executor, cipher, item)) parts.push(part);
  return Buffer.concat(parts);
}
