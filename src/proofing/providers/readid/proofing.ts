import { sql } from 'kysely';
import type { Config } from '../../../config.js';
import type { FailureReason } from '../../../flows/failure-reasons.js';
import type { EvidenceItem } from '../../../dossier/evidence.js';
import type { RequestMeta } from '../../../http/request-meta.js';
import { effectiveStatus, findTransaction, lockTransaction, type Transaction } from '../../../flows/transaction.js';
import { ApiError, apiError, errors } from '../../../shared/errors.js';
import { verifyDocument, type VerificationResult } from '../../../icao/index.js';
import type { ProviderServices } from '../../provider.js';
import type { Decision } from '../../service.js';
import type { Executor, Tx } from '../../../store/database.js';
import { assess, assessFace, checkSummary, documentAttributes, MAX_ATTEMPTS, type Assessment } from './assessment.js';
import type { Challenge, Challenges } from './challenges.js';
import type { DocumentBindings } from './documents.js';
import type { FaceEvidence } from '../../faces.js';
import { compareWithChip, type ChipPortrait } from './faces.js';
import type { TrustAnchors } from './trust.js';
import { decodeFiles, decodeSelfie, requireFaceImages, UPLOAD_FIELD, type ChipFiles, type ReadIdUpload, type Selfie } from './upload.js';

export const PROVIDER_ID = 'readid';

/** What the device is told about its upload: the verdict and the checks, nothing it did not send itself. */
export interface AttemptReport {
  attempt: number;
  maxAttempts: number;
  verdict: VerificationResult['verdict'];
  reason?: FailureReason;
  checks: Record<keyof VerificationResult['checks'], string>;
}

/**
 * One ReadID upload: verify the chip files against the trust store and the server's challenge, then record the
 * attempt. A final outcome goes through ProofingService.decide, with the challenge burned, the attempt recorded and
 * the document bound in the same database transaction; a retry is recorded on its own and the flow stays Pending.
 */
export class ReadIdProofing {
  constructor(
    private readonly ctx: ProviderServices & { config: Pick<Config, 'readid'> },
    private readonly deps: { challenges: Challenges; documents: DocumentBindings; trust: TrustAnchors },
  ) {}

  async submit(tx: Transaction, upload: ReadIdUpload, meta: RequestMeta): Promise<{ tx: Transaction; report: AttemptReport }> {
    if (tx.provider !== PROVIDER_ID) throw apiError('provider_mismatch', `This transaction uses the ${tx.provider} provider.`);
    if (effectiveStatus(tx, this.ctx.clock.now()) !== 'Pending' || tx.stage !== 'proofing') throw uploadNotExpected();
    const files = decodeFiles(upload);
    const selfie = decodeSelfie(upload);
    requireFaceImages(files, selfie, this.ctx.config.readid.selfie);
    const aa = upload.activeAuthentication;
    const challenge = aa ? await this.deps.challenges.find(tx.id, aa.challenge) : undefined;
    const signature = aa ? Buffer.from(aa.signature, 'base64') : undefined;
    const result = await this.verify(files, challenge, signature);
    const attempt = (await this.countAttempts(this.ctx.store.db, tx.id)) + 1;
    const documentHash = result.document && result.verdict === 'accepted' ? this.deps.documents.hash(result.document) : null;
    const owner = documentHash ? await this.deps.documents.owner(this.ctx.store.db, tx.accountId, documentHash) : null;
    const chip = assess({ result, attempt, boundToOtherUser: owner !== null && owner !== tx.userId, policy: this.ctx.config.readid.duplicateDocument });
    // The person only once the document is accepted: a retry or a rejection of the chip never waits for the face model.
    const face = chip.outcome === 'accepted' && selfie ? await this.compareFaces(tx, files, selfie) : null;
    const assessment = chip.outcome === 'accepted' ? assessFace(chip, face?.evidence ?? null, attempt) : chip;
    const evidence = evidenceItems(files, selfie, result, challenge, signature, face?.evidence);
    const record = (trx: Tx, current: Transaction) => this.recordAttempt(trx, current, attempt, result, assessment, challenge);
    const details = { ...checkSummary(result, attempt), ...(face ? { face: face.evidence } : {}) };
    const ended =
      assessment.outcome === 'retry'
        ? await this.retry(tx, evidence, meta, attempt, assessment.reason, record)
        : await this.decide(tx, toDecision(assessment, evidence, details), meta, record, { documentHash, portrait: face?.portrait });
    return { tx: ended, report: report(attempt, result, assessment) };
  }

  /** The selfie against the chip photo and, on a step-up, against the user's enrolled reference face. */
  private async compareFaces(tx: Transaction, files: ChipFiles, selfie: Selfie) {
    const { faces, referenceFaces, users, store } = this.ctx;
    const user = tx.kind === 'stepup' ? await users.find(store.db, tx.accountId, tx.userId) : null;
    const enrolled = user ? await referenceFaces.find(store.db, user, faces.model) : null;
    return compareWithChip(faces, files.dg2!, selfie, enrolled);
  }

  /**
   * Counts a refused upload of a transaction (400/422: unreadable or invalid files, a DG15 the SOD lists left out, an
   * unknown challenge), which changes nothing by itself; at `maxFailedUploads` the transaction ends Failed
   * (`too_many_failed_uploads`), so one device cannot have hostile files verified for a transaction's whole life.
   * Counted per transaction over its whole life (`readid_refused_uploads`), incremented in one statement so that
   * concurrent refusals are all counted.
   */
  async countRefusedUpload(tx: Transaction, error: unknown, meta: RequestMeta): Promise<void> {
    const status = error instanceof ApiError ? error.status : (error as { statusCode?: unknown } | null)?.statusCode;
    if ((status !== 400 && status !== 422) || tx.provider !== PROVIDER_ID || effectiveStatus(tx, this.ctx.clock.now()) !== 'Pending') return;
    const row = await this.ctx.store.db
      .insertInto('readid_refused_uploads')
      .values({ transaction_id: tx.id, count: 1 })
      .onConflict((oc) => oc.column('transaction_id').doUpdateSet({ count: sql`readid_refused_uploads.count + 1` }))
      .returning('count')
      .executeTakeFirstOrThrow();
    const refused = Number(row.count);
    if (refused < this.ctx.config.readid.maxFailedUploads) return;
    const decision: Decision = { outcome: 'rejected', reason: 'too_many_failed_uploads', evidence: [], details: { refusedUploads: refused } };
    await this.ctx.proofing.decide(tx, PROVIDER_ID, decision, meta).catch((failure: unknown) => {
      if (!(failure instanceof ApiError)) throw failure; // already decided by a concurrent upload: nothing to end
    });
  }

  /**
   * A final outcome: the attempt, the challenge, the document binding and the user's new reference face (the chip
   * photo of a completed proofing) commit with the decision or not at all.
   */
  private async decide(
    tx: Transaction,
    decision: Decision,
    meta: RequestMeta,
    record: (trx: Tx, tx: Transaction) => Promise<void>,
    completion: { documentHash: string | null; portrait: ChipPortrait | undefined },
  ): Promise<Transaction> {
    // Bound only when the flow completes: another person's passport refused on a step-up stays free for its holder.
    return this.ctx.proofing.decide(tx, PROVIDER_ID, decision, meta, async (trx, current, outcome) => {
      await record(trx, current);
      if (outcome !== 'accepted') return;
      if (completion.documentHash) await this.bindDocument(trx, current, completion.documentHash, meta);
      if (completion.portrait) await this.enrolFace(trx, current, completion.portrait);
    });
  }

  /**
   * The issuer's photo becomes the face later proofings are compared with. A completed step-up replaces it with its
   * own chip's photo: it matched the enrolled face, and a renewed document's photo is the more recent one.
   */
  private async enrolFace(trx: Tx, tx: Transaction, portrait: ChipPortrait): Promise<void> {
    const user = await this.ctx.users.find(trx, tx.accountId, tx.userId);
    if (!user || !tx.proofingId) throw errors.transactionNotFound(tx.id);
    const provenance = { provider: PROVIDER_ID, transactionId: tx.id, proofingId: tx.proofingId, verifiedAt: this.ctx.clock.now() };
    await this.ctx.referenceFaces.save(trx, user, portrait.template, provenance, portrait.photo);
  }

  private async verify(files: ChipFiles, challenge: Challenge | undefined, signature: Buffer | undefined): Promise<VerificationResult> {
    const result = verifyDocument({
      ...files,
      trustStore: await this.deps.trust.get(),
      activeAuthentication: challenge && signature ? { challenge: challenge.bytes, signature } : undefined,
      now: new Date(this.ctx.clock.now()),
    });
    // Unreadable bytes are the app's mistake, not the document's: refuse the upload and leave the flow as it was.
    if (result.formatError) {
      const { file, code, message } = result.formatError;
      throw errors.invalidParameters([{ name: UPLOAD_FIELD[file] ?? file, reason: `${code}: ${message}` }], 'A chip file could not be read.');
    }
    return result;
  }

  /**
   * An inconclusive attempt (clone detection did not pass, or the selfie showed no usable face): the evidence goes
   * into the dossier, the flow stays Pending for a new challenge.
   */
  private async retry(
    tx: Transaction,
    evidence: EvidenceItem[],
    meta: RequestMeta,
    attempt: number,
    reason: FailureReason,
    record: (trx: Tx, tx: Transaction) => Promise<void>,
  ): Promise<Transaction> {
    const { store, users, audit } = this.ctx;
    return store.write(async (trx) => {
      await record(trx, tx);
      const user = await users.find(trx, tx.accountId, tx.userId);
      if (!user || !tx.proofingId) throw errors.transactionNotFound(tx.id);
      const cipher = users.cipher(user);
      for (const item of evidence) await this.ctx.evidence.store(trx, cipher, { dossierId: tx.dossierId, proofingId: tx.proofingId }, item);
      await audit.append(trx, {
        accountId: tx.accountId,
        eventType: 'readid.attempt.inconclusive',
        message: `ReadID attempt inconclusive (${reason}); a new attempt is allowed`,
        traceId: meta.traceId,
        ipAddress: meta.ipAddress,
        userId: tx.userId,
        referenceId: tx.id,
        data: { proofingId: tx.proofingId, attempt, maxAttempts: MAX_ATTEMPTS, reason },
      });
      return (await findTransaction(trx, tx.id))!;
    });
  }

  /**
   * Burns the challenge and numbers the attempt. The transaction's row is locked first for the rest of the database
   * transaction, so concurrent uploads of one transaction are recorded one after the other.
   */
  private async recordAttempt(
    trx: Tx,
    tx: Transaction,
    attempt: number,
    result: VerificationResult,
    assessment: Assessment,
    challenge: Challenge | undefined,
  ): Promise<void> {
    const now = this.ctx.clock.now();
    const current = await lockTransaction(this.ctx.store, trx, tx.id);
    if (!current || effectiveStatus(current, now) !== 'Pending' || current.stage !== 'proofing') throw uploadNotExpected();
    if ((await this.countAttempts(trx, tx.id)) !== attempt - 1) throw concurrentUpload();
    if (challenge) await this.deps.challenges.burn(trx, challenge);
    await trx
      .insertInto('readid_attempts')
      .values({
        transaction_id: tx.id,
        attempt,
        verdict: result.verdict,
        reason: assessment.outcome === 'accepted' ? null : assessment.reason,
        challenge_id: challenge?.id ?? null,
        created_at: now,
      })
      .execute();
  }

  private async bindDocument(trx: Tx, tx: Transaction, documentHash: string, meta: RequestMeta): Promise<void> {
    const owner = await this.deps.documents.bind(trx, tx, documentHash, this.ctx.config.readid.duplicateDocument);
    if (owner === tx.userId) return;
    // Allowed by policy, but the account's auditors should see every identity a document was used for.
    await this.ctx.audit.append(trx, {
      accountId: tx.accountId,
      eventType: 'readid.document.duplicate',
      message: 'Document already bound to another user accepted (policy allow)',
      traceId: meta.traceId,
      ipAddress: meta.ipAddress,
      userId: tx.userId,
      referenceId: tx.id,
      data: { proofingId: tx.proofingId, boundUserId: owner, policy: 'allow' },
    });
  }

  async latestAttempt(transactionId: string): Promise<{ attempt: number; verdict: string; reason: string | null } | null> {
    const row = await this.ctx.store.db
      .selectFrom('readid_attempts')
      .select(['attempt', 'verdict', 'reason'])
      .where('transaction_id', '=', transactionId)
      .orderBy('attempt', 'desc')
      .executeTakeFirst();
    return row ? { attempt: Number(row.attempt), verdict: row.verdict, reason: row.reason } : null;
  }

  private async countAttempts(executor: Executor, transactionId: string): Promise<number> {
    const row = await executor
      .selectFrom('readid_attempts')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('transaction_id', '=', transactionId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}

function toDecision(assessment: Exclude<Assessment, { outcome: 'retry' }>, evidence: EvidenceItem[], details: Record<string, unknown>): Decision {
  if (assessment.outcome === 'rejected') return { outcome: 'rejected', reason: assessment.reason, evidence, details };
  const { userData, verification, enrolledFace } = assessment;
  return {
    outcome: 'accepted',
    userData,
    document: documentAttributes(assessment.document),
    verification,
    ...(enrolledFace ? { enrolledFace } : {}),
    evidence,
    details: { ...details, duplicateDocument: assessment.duplicate },
  };
}

/**
 * The chip files as read, the selfie, the chip's answer with its challenge, the full verification result and the
 * face comparisons (scores and image qualities, never the templates).
 */
function evidenceItems(
  files: ChipFiles,
  selfie: Selfie | undefined,
  result: VerificationResult,
  challenge: Challenge | undefined,
  signature: Buffer | undefined,
  face: FaceEvidence | undefined,
): EvidenceItem[] {
  const items: EvidenceItem[] = Object.entries(files).map(([name, content]) => ({ kind: `readid.${name}`, mediaType: 'application/octet-stream', content }));
  if (selfie) items.push({ kind: 'readid.selfie', mediaType: selfie.mediaType, content: selfie.content });
  if (challenge && signature) {
    items.push({
      kind: 'readid.active-authentication',
      mediaType: 'application/json',
      content: Buffer.from(JSON.stringify({ challenge: challenge.bytes.toString('hex'), signature: signature.toString('base64') })),
    });
  }
  items.push({ kind: 'readid.verification', mediaType: 'application/json', content: Buffer.from(JSON.stringify(result)) });
  if (face) items.push({ kind: 'readid.face-comparison', mediaType: 'application/json', content: Buffer.from(JSON.stringify(face)) });
  return items;
}

function report(attempt: number, result: VerificationResult, assessment: Assessment): AttemptReport {
  const checks = Object.fromEntries(Object.entries(result.checks).map(([name, check]) => [name, check.status])) as AttemptReport['checks'];
  return { attempt, maxAttempts: MAX_ATTEMPTS, verdict: result.verdict, ...(assessment.outcome === 'accepted' ? {} : { reason: assessment.reason }), checks };
}

const uploadNotExpected = () => apiError('proofing_not_expected', 'The transaction is not waiting for proofing: it has ended or expired.');

const concurrentUpload = () =>
  apiError('concurrent_upload', 'Another upload for this transaction was recorded meanwhile; fetch the transaction and try again.');
