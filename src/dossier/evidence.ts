import { sealedPlaintextSize, type DataCipher } from '../security/keyring.js';
import type { Executor } from '../store/database.js';
import type { Clock, RandomSource } from '../shared/runtime.js';
import type { EvidenceTable } from '../store/schema.js';
import { adoptChunks, ChunkWriter, discardStagedChunks, readChunks, type StagedContent } from './evidence-chunks.js';

/**
 * Evidence in the user's dossier (chip files, images, submitted outcomes), sealed with the user's data key: it is
 * personal, often biometric, data.
 */
export interface EvidenceItem {
  kind: string;
  mediaType: string;
  content: Buffer;
}

/** What is known of an item without opening it: enough to list it, size it and open it on demand. */
export interface SealedEvidence {
  id: string;
  proofingId: string;
  kind: string;
  mediaType: string;
  createdAt: number;
  /** Plaintext size in bytes, known without decrypting. */
  size: number;
  open(cipher: DataCipher): Promise<Buffer>;
}

export class EvidenceStore {
  constructor(private readonly deps: { clock: Clock; random: RandomSource }) {}

  async store(executor: Executor, cipher: DataCipher, where: { dossierId: string; proofingId: string }, item: EvidenceItem): Promise<string> {
    const id = this.deps.random.uuid();
    await executor
      .insertInto('evidence')
      .values({
        id,
        dossier_id: where.dossierId,
        proofing_id: where.proofingId,
        kind: item.kind,
        media_type: item.mediaType,
        content_sealed: cipher.seal(item.content, evidenceContext(id)),
        created_at: this.deps.clock.now(),
      })
      .execute();
    return id;
  }

  /**
   * Starts a large item's upload: its content is sealed and staged chunk by chunk as it arrives (see
   * evidence-chunks.ts), never held whole. `storeStaged` records it once the request succeeds.
   */
  beginUpload(executor: Executor, cipher: DataCipher): ChunkWriter {
    return new ChunkWriter({ db: executor, clock: this.deps.clock }, cipher, this.deps.random.uuid());
  }

  /** Records staged content as an item of the dossier, in the business transaction; its chunks are adopted. */
  async storeStaged(
    executor: Executor,
    where: { dossierId: string; proofingId: string },
    item: { kind: string; mediaType: string },
    staged: StagedContent,
  ): Promise<string> {
    await executor
      .insertInto('evidence')
      .values({
        id: staged.evidenceId,
        dossier_id: where.dossierId,
        proofing_id: where.proofingId,
        kind: item.kind,
        media_type: item.mediaType,
        content_sealed: '',
        chunk_count: staged.chunkCount,
        content_size: staged.size,
        created_at: this.deps.clock.now(),
      })
      .execute();
    await adoptChunks(executor, staged);
    return staged.evidenceId;
  }

  /** Deletes what an upload staged and no evidence row adopted (a failed request's chunks); adopted ones stay. */
  async discardUpload(executor: Executor, evidenceId: string): Promise<void> {
    await discardStagedChunks(executor, evidenceId);
  }

  async list(executor: Executor, cipher: DataCipher, proofingId: string): Promise<(EvidenceItem & { id: string })[]> {
    const rows = await executor.selectFrom('evidence').selectAll().where('proofing_id', '=', proofingId).orderBy('created_at').execute();
    const items: (EvidenceItem & { id: string })[] = [];
    for (const row of rows) items.push({ id: row.id, kind: row.kind, mediaType: row.media_type, content: await openRow(executor, cipher, row) });
    return items;
  }

  /** Every item in the user's dossiers, oldest first, still sealed. */
  async listForUser(executor: Executor, userId: string): Promise<SealedEvidence[]> {
    const rows = await executor
      .selectFrom('evidence')
      .innerJoin('dossiers', 'dossiers.id', 'evidence.dossier_id')
      .select([
        'evidence.id',
        'evidence.proofing_id',
        'evidence.kind',
        'evidence.media_type',
        'evidence.content_sealed',
        'evidence.chunk_count',
        'evidence.content_size',
        'evidence.created_at',
      ])
      .where('dossiers.user_id', '=', userId)
      .orderBy('evidence.created_at')
      .execute();
    return rows.map((row) => ({
      id: row.id,
      proofingId: row.proofing_id,
      kind: row.kind,
      mediaType: row.media_type,
      createdAt: row.created_at,
      size: row.content_size === null ? sealedPlaintextSize(row.content_sealed) : Number(row.content_size),
      open: (cipher: DataCipher) => openRow(executor, cipher, row),
    }));
  }

  /** One item of a dossier, or null: showing one image must not decrypt the whole proofing. */
  async find(executor: Executor, cipher: DataCipher, where: { dossierId: string; id: string }): Promise<EvidenceItem | null> {
    const row = await executor.selectFrom('evidence').selectAll().where('id', '=', where.id).where('dossier_id', '=', where.dossierId).executeTakeFirst();
    return row ? { kind: row.kind, mediaType: row.media_type, content: await openRow(executor, cipher, row) } : null;
  }
}

const evidenceContext = (id: string) => `evidence:${id}`;

/**
 * Retention: the ended transactions of the account, ended at or before `endedBefore`, that still have evidence, oldest
 * end first. Never a Pending one: only an ended transaction has an end time.
 */
export async function endedWithEvidence(executor: Executor, accountId: string, endedBefore: number, limit: number): Promise<{ id: string; userId: string }[]> {
  return executor
    .selectFrom('transactions')
    .select(['transactions.id', 'transactions.user_id as userId'])
    .where('transactions.account_id', '=', accountId)
    .where('transactions.ended_at', '<=', endedBefore)
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('proofings')
          .innerJoin('evidence', 'evidence.proofing_id', 'proofings.id')
          .select('evidence.id')
          .whereRef('proofings.transaction_id', '=', 'transactions.id'),
      ),
    )
    .orderBy('transactions.ended_at')
    .limit(limit)
    .execute();
}

/** Retention: deletes the evidence of a transaction's proofings; returns how many items this call deleted. */
export async function deleteTransactionEvidence(executor: Executor, transactionId: string): Promise<number> {
  const result = await executor
    .deleteFrom('evidence')
    .where('proofing_id', 'in', (eb) => eb.selectFrom('proofings').select('id').where('transaction_id', '=', transactionId))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** An item's plaintext, from its sealed value or, for a chunked item, from its chunks in order. */
async function openRow(
  executor: Executor,
  cipher: DataCipher,
  row: Pick<EvidenceTable, 'id' | 'content_sealed' | 'chunk_count' | 'content_size'>,
): Promise<Buffer> {
  if (row.chunk_count === null) return cipher.open(row.content_sealed, evidenceContext(row.id));
  return readChunks(executor, cipher, { id: row.id, chunkCount: Number(row.chunk_count), size: Number(row.content_size) });
}
